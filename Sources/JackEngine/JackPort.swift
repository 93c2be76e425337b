import CJack

/// A JACK port: its handle and full name ("client:port").
///
/// Plain value; any thread. The handle is valid until the port is unregistered
/// or its client closes.
public struct JackPort: Sendable, Hashable {
    nonisolated(unsafe) let handle: OpaquePointer
    /// The full name, "client:port".
    public let name: String

    init(handle: OpaquePointer) {
        self.handle = handle
        self.name = String(cString: jack_port_name(handle))
    }

    public static func == (lhs: JackPort, rhs: JackPort) -> Bool { lhs.handle == rhs.handle }
    public func hash(into hasher: inout Hasher) { hasher.combine(handle) }
}

/// Which way a port carries audio, from the port's own point of view.
public enum PortDirection: Sendable {
    /// `JackPortIsInput`: receives audio (a playback port, or a stream's capture port).
    case input
    /// `JackPortIsOutput`: produces audio (a capture port, or a stream's render port).
    case output

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
