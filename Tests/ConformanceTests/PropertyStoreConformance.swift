import Testing
import WASAPI

/// The assertions of Wine's dlls/mmdevapi/tests/propstore.c, ported as facts
/// about this API (registry and WOW64 ones are Windows': see ``Ledger/skipped``).
@Suite("Conformance: propstore.c", .timeLimit(.minutes(15)))
struct PropertyStoreConformance {
    @Test("propstore.c test_propertystore and test_getat") func propertystore() async throws { try await Harness.run(.simulated, Self.propertystore) }

    @Test("propstore.c, every function, on jackd") func jackd() async throws { try await Harness.run(.jackServer, Self.propertystore) }

    @Test("propstore.c, every function, on pipewire-jack") func pipewire() async throws {
        try await Harness.runOnPipeWire(filter: "PropertyStoreConformance/jackd")
    }

    static func propertystore(_ h: Harness) async throws {
        let devices = try h.enumerator.enumAudioEndpoints(.render, stateMask: .active)
        check("propstore.renderEndpoints", !devices.isEmpty)
        for device in devices {
            let store = device.openPropertyStore()
            let guid = store[.audioEndpointGUID]?.stringValue
            check("propstore.propertystore.endpointGUID", guid.map { $0.hasPrefix("{") && $0.hasSuffix("}") && device.id.hasSuffix($0) } == true, "\(String(describing: guid))")
            let interfaceName = store[.deviceInterfaceFriendlyName]?.stringValue
            let description = store[.deviceDescription]?.stringValue
            check("propstore.propertystore.interfaceFriendlyName", interfaceName?.isEmpty == false)
            check("propstore.propertystore.deviceDescription", description?.isEmpty == false)
            check("propstore.propertystore.friendlyName", store[.deviceFriendlyName]?.stringValue == "\(description ?? "") (\(interfaceName ?? ""))")
            check("propstore.propertystore.interfaceEnabledAbsent", store[PropertyKey(formatID: "026e516e-b814-414b-83cd-856d6fef4822", propertyID: 3)] == nil)
            check("propstore.propertystore.classGuidAbsent", store[PropertyKey(formatID: "026e516e-b814-414b-83cd-856d6fef4822", propertyID: 4)] == nil)
            if case let .blob(bytes)? = store[.audioEngineDeviceFormat] {
                check("propstore.propertystore.deviceFormat.size", bytes.count == 40)
                let format = WaveFormatBytes(bytes)
                check("propstore.propertystore.deviceFormat.extensible", format.tag == 0xFFFE)
                check("propstore.propertystore.deviceFormat.extraSize", format.extraSize == 22)
            } else {
                check("propstore.propertystore.deviceFormat.size", false, "no blob")
            }
            check("propstore.getat.count", store.count > 0)
            check("propstore.getat.friendlyName", store.keys.contains(.deviceFriendlyName))
            check("propstore.getat.deviceDescription", store.keys.contains(.deviceDescription))
        }
    }

    /// The two little-endian fields of a WAVEFORMATEX the checks read.
    struct WaveFormatBytes {
        let tag: UInt16
        let extraSize: UInt16
        init(_ bytes: [UInt8]) {
            tag = UInt16(bytes[0]) | UInt16(bytes[1]) << 8
            extraSize = UInt16(bytes[16]) | UInt16(bytes[17]) << 8
        }
    }
}
