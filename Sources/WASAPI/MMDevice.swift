import JackEngine
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
    /// The engine the device belongs to.
    public let engine: AudioEngine

    init(engine: AudioEngine, endpoint: AudioEngine.Endpoint) {
        self.engine = engine
        self.id = endpoint.descriptor.id
        self.dataFlow = DataFlow(endpoint.descriptor.flow)
    }

    /// `GetState`.
    public var state: DeviceState {
        engine.endpoint(id: id)?.isPresent == true ? .active : .notPresent
    }

    /// The endpoint's current description (ports, names).
    public var descriptor: EndpointDescriptor? { engine.endpoint(id: id)?.descriptor }

    /// `OpenPropertyStore(STGM_READ)`: a snapshot of the endpoint's properties.
    public func openPropertyStore() -> PropertyStore {
        PropertyStore(descriptor: descriptor, sampleRate: engine.client.sampleRate)
    }

    /// The engine's mix format for this endpoint (`PKEY_AudioEngine_DeviceFormat`):
    /// 32-bit float at the JACK rate, one channel per port.
    public var mixFormat: WaveFormat? {
        descriptor.map { Self.mixFormat(channels: $0.channelCount, sampleRate: engine.client.sampleRate) }
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
