import AudioGraph

/// `EDataFlow`: the direction of an endpoint.
public enum DataFlow: Int32, Sendable, CaseIterable {
    /// `eRender`: audio goes out (playback).
    case render = 0
    /// `eCapture`: audio comes in (recording).
    case capture = 1
    /// `eAll`: both, for enumeration only.
    case all = 2

    init(_ flow: EndpointDescriptor.Flow) { self = flow == .render ? .render : .capture }

    func includes(_ flow: EndpointDescriptor.Flow) -> Bool {
        self == .all || self == DataFlow(flow)
    }
}

/// `ERole`: what a default endpoint is the default for.
public enum Role: Int32, Sendable, CaseIterable {
    /// `eConsole`: games, system sounds, voice commands.
    case console = 0
    /// `eMultimedia`: music, movies, narration.
    case multimedia = 1
    /// `eCommunications`: voice communications (calls).
    case communications = 2

    var name: String {
        switch self {
        case .console: "console"
        case .multimedia: "multimedia"
        case .communications: "communications"
        }
    }
}

/// `DEVICE_STATE_*`: an endpoint's state, and masks of states for enumeration.
public struct DeviceState: OptionSet, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// `DEVICE_STATE_ACTIVE`: its ports are in the graph.
    public static let active = DeviceState(rawValue: 0x1)
    /// `DEVICE_STATE_DISABLED`: disabled by the user (not used on JACK yet).
    public static let disabled = DeviceState(rawValue: 0x2)
    /// `DEVICE_STATE_NOTPRESENT`: known, but its ports are gone.
    public static let notPresent = DeviceState(rawValue: 0x4)
    /// `DEVICE_STATE_UNPLUGGED`: present but unplugged (not used on JACK yet).
    public static let unplugged = DeviceState(rawValue: 0x8)
    /// `DEVICE_STATEMASK_ALL`.
    public static let all = DeviceState(rawValue: 0xF)

    public var description: String {
        switch self {
        case .active: "active"
        case .disabled: "disabled"
        case .notPresent: "not present"
        case .unplugged: "unplugged"
        default: "0x" + String(rawValue, radix: 16)
        }
    }
}
