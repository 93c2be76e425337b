import AudioGraph
import PCM

/// `IMMDevice`: one audio endpoint — a group of JACK ports.
///
/// The device is a live view: ``state`` and ``openPropertyStore()`` read the
/// engine's current model, so a device object obtained earlier reflects
/// ports that vanished or returned.
///
/// Thread safety: any thread except JACK's.
public final class MMDevice: Sendable {
    /// `GetId`: stable across restarts of the server and of the process.
    public let id: String
    /// `IMMEndpoint::GetDataFlow`.
    public let dataFlow: DataFlow
    /// The endpoint model the device belongs to.
    let graph: DeviceGraph
    /// The engine the device belongs to.
    var engine: any AudioEngine { graph.engine }

    init(graph: DeviceGraph, endpoint: DeviceGraph.Endpoint) {
        self.graph = graph
        self.id = endpoint.descriptor.id
        self.dataFlow = DataFlow(endpoint.descriptor.flow)
    }

    /// `GetState`.
    public var state: DeviceState {
        graph.endpoint(id: id)?.isPresent == true ? .active : .notPresent
    }

    /// The endpoint's current description (ports, names).
    var descriptor: EndpointDescriptor? { graph.endpoint(id: id)?.descriptor }

    /// `PKEY_Device_FriendlyName`: "Playback (system)" (empty once forgotten).
    public var friendlyName: String { descriptor?.friendlyName ?? "" }
    /// The endpoint's channels: one per port.
    public var channelCount: Int { descriptor?.channelCount ?? 0 }
    /// The full names of the endpoint's ports, in channel order (not a
    /// Windows property: where a patchbay finds the endpoint).
    public var portNames: [String] { descriptor?.ports ?? [] }
    /// Whether the endpoint is another application's ports (a virtual cable)
    /// rather than a driver's.
    public var isVirtual: Bool { descriptor?.isVirtual ?? false }
    /// The server the endpoint belongs to (see ``MMDeviceEnumerator/serverName``).
    public var serverName: String { engine.serverName }
    /// The server's period in frames: the endpoint's device period.
    public var periodFrames: Int { engine.bufferSize }
    /// Late cycles (xruns) the server reported since this process connected.
    public var xrunCount: UInt64 { engine.xrunCount }

    /// `OpenPropertyStore(STGM_READ)`: a snapshot of the endpoint's properties.
    public func openPropertyStore() -> PropertyStore {
        PropertyStore(descriptor: descriptor, sampleRate: engine.sampleRate)
    }

    /// The engine's mix format for this endpoint (`PKEY_AudioEngine_DeviceFormat`):
    /// 32-bit float at the JACK rate, one channel per port.
    public var mixFormat: WaveFormat? {
        descriptor.map { Self.mixFormat(channels: $0.channelCount, sampleRate: engine.sampleRate) }
    }

    static func mixFormat(channels: Int, sampleRate: Int) -> WaveFormat {
        WaveFormat.extensibleFloat32(sampleRate: sampleRate, channels: channels,
                                     channelMask: ChannelMask.defaultMask(forChannels: channels))
    }
}

/// `IPropertyStore`, read-only: the properties of an endpoint at one moment.
///
/// Plain value; any thread.
public struct PropertyStore: Sendable {
    private let values: [PropertyKey: PropertyValue]

    init(descriptor: EndpointDescriptor?, sampleRate: Int) {
        guard let descriptor else {
            values = [:]
            return
        }
        let format = MMDevice.mixFormat(channels: descriptor.channelCount, sampleRate: sampleRate)
        values = [
            .deviceFriendlyName: .string(descriptor.friendlyName),
            .deviceDescription: .string(descriptor.description),
            .deviceInterfaceFriendlyName: .string(descriptor.clientName),
            .audioEngineDeviceFormat: .blob(format.serialized()),
            .audioEndpointPhysicalSpeakers: .uint32(format.channelMask.rawValue),
            .audioEndpointGUID: .string(String(descriptor.id.drop { $0 != "}" }.dropFirst(2))),
            .jackPorts: .strings(descriptor.ports),
        ]
    }

    /// `GetCount`.
    public var count: Int { values.count }
    /// `GetAt` for every index: the keys present.
    public var keys: [PropertyKey] { Array(values.keys) }
    /// `GetValue`: nil (VT_EMPTY) when the store has no such property.
    public subscript(key: PropertyKey) -> PropertyValue? { values[key] }
}
