/// `PROPERTYKEY`: a property of a device's property store, named as Windows
/// names it (format GUID and property id).
///
/// Plain value; any thread.
public struct PropertyKey: Sendable, Hashable, CustomStringConvertible {
    /// The format GUID, lower case, without braces.
    public let formatID: String
    public let propertyID: UInt32

    public init(formatID: String, propertyID: UInt32) {
        self.formatID = formatID.lowercased()
        self.propertyID = propertyID
    }

    public var description: String { "{\(formatID)} \(propertyID)" }

    /// `PKEY_Device_FriendlyName`: "Playback (system)".
    public static let deviceFriendlyName = PropertyKey(formatID: "a45c254e-df1c-4efd-8020-67d146a850e0", propertyID: 14)
    /// `PKEY_Device_DeviceDesc`: "Playback".
    public static let deviceDescription = PropertyKey(formatID: "a45c254e-df1c-4efd-8020-67d146a850e0", propertyID: 2)
    /// `PKEY_DeviceInterface_FriendlyName`: the owning JACK client, "system".
    public static let deviceInterfaceFriendlyName = PropertyKey(formatID: "026e516e-b814-414b-83cd-856d6fef4822", propertyID: 2)
    /// `PKEY_AudioEngine_DeviceFormat`: the mix format (a WAVEFORMATEXTENSIBLE blob).
    public static let audioEngineDeviceFormat = PropertyKey(formatID: "f19f064d-082c-4e27-bc73-6882a1bb8e4c", propertyID: 0)
    /// `PKEY_AudioEndpoint_PhysicalSpeakers`: the channel mask.
    public static let audioEndpointPhysicalSpeakers = PropertyKey(formatID: "1da5d803-d492-4edd-8c23-e0c0ffee7f0e", propertyID: 3)
    /// `PKEY_AudioEndpoint_GUID`: the endpoint's GUID, the last part of its id ("{...}").
    public static let audioEndpointGUID = PropertyKey(formatID: "1da5d803-d492-4edd-8c23-e0c0ffee7f0e", propertyID: 4)
    /// wasapi-jack's own: the endpoint's JACK ports, in channel order.
    public static let jackPorts = PropertyKey(formatID: "6a61636b-7761-7361-7069-706f72747321", propertyID: 1)
}

/// `PROPVARIANT`, reduced to the kinds endpoint properties use.
public enum PropertyValue: Sendable, Hashable {
    /// `VT_LPWSTR`.
    case string(String)
    /// `VT_UI4`.
    case uint32(UInt32)
    /// `VT_BLOB`: raw bytes, for example a serialised WAVEFORMATEXTENSIBLE.
    case blob([UInt8])
    /// `VT_VECTOR | VT_LPWSTR`.
    case strings([String])

    /// The string, if this is one.
    public var stringValue: String? {
        if case let .string(value) = self { value } else { nil }
    }
}
