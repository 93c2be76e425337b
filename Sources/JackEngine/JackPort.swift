import AudioGraph
import CJack

extension EnginePort {
    /// A port of a JACK client: `handle` is its `jack_port_t *`.
    init(jack port: OpaquePointer) {
        self.init(name: String(cString: jack_port_name(port)), handle: UnsafeMutableRawPointer(port))
    }

    /// The `jack_port_t *`.
    var jack: OpaquePointer { OpaquePointer(handle) }
}

extension PortDirection {
    /// The JACK flag of a port registered in this direction.
    var flag: UInt {
        switch self {
        case .input: UInt(JackPortIsInput.rawValue)
        case .output: UInt(JackPortIsOutput.rawValue)
        }
    }
}

/// JACK's port flags (`JackPortFlags`).
public struct PortFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt
    public init(rawValue: UInt) { self.rawValue = rawValue }

    /// `JackPortIsInput`.
    public static let isInput = PortFlags(rawValue: UInt(JackPortIsInput.rawValue))
    /// `JackPortIsOutput`.
    public static let isOutput = PortFlags(rawValue: UInt(JackPortIsOutput.rawValue))
    /// `JackPortIsPhysical`: the port is a hardware (or driver) port.
    public static let isPhysical = PortFlags(rawValue: UInt(JackPortIsPhysical.rawValue))
    /// `JackPortCanMonitor`.
    public static let canMonitor = PortFlags(rawValue: UInt(JackPortCanMonitor.rawValue))
    /// `JackPortIsTerminal`: data starts or ends here (not passed through).
    public static let isTerminal = PortFlags(rawValue: UInt(JackPortIsTerminal.rawValue))
}
