import Foundation
import Testing
import WASAPI

/// The assertions of Wine's dlls/mmdevapi/tests/mmdevenum.c, ported as facts
/// about this API (the QueryInterface and reference-count ones are COM's:
/// see ``Ledger/skipped``).
@Suite("Conformance: mmdevenum.c", .timeLimit(.minutes(15)))
struct EnumeratorConformance {
    @Test("mmdevenum.c START_TEST(mmdevenum)") func mmdevenum() async throws { try await Harness.run(.simulated, Self.mmdevenum) }
    @Test("mmdevenum.c test_collection") func collection() async throws { try await Harness.run(.simulated, Self.collection) }

    @Test("mmdevenum.c, every function, on jackd") func jackd() async throws {
        try await Harness.run(.jackServer) { harness in
            try await Self.mmdevenum(harness)
            try await Self.collection(harness)
        }
    }

    @Test("mmdevenum.c, every function, on pipewire-jack") func pipewire() async throws {
        try await Harness.runOnPipeWire(filter: "EnumeratorConformance/jackd")
    }

    final class SilentClient: MMNotificationClient {}

    static func mmdevenum(_ h: Harness) async throws {
        let enumerator = h.enumerator
        check("mmdevenum.GetDevice.malformedID", hresult { _ = try enumerator.getDevice(id: "notadevice") } == .E_INVALIDARG)
        let unknown = "{0.0.0.00000000}.{" + UUID().uuidString.lowercased() + "}"
        check("mmdevenum.GetDevice.unknownID", hresult { _ = try enumerator.getDevice(id: unknown) } == .E_NOTFOUND)
        check("mmdevenum.EnumAudioEndpoints.invalidMask", hresult { _ = try enumerator.enumAudioEndpoints(.all, stateMask: DeviceState(rawValue: DeviceState.all.rawValue + 1)) } == .E_INVALIDARG)
        check("mmdevenum.EnumAudioEndpoints", hresult { _ = try enumerator.enumAudioEndpoints(.all, stateMask: .all) } == .S_OK)
        let client = SilentClient()
        enumerator.registerEndpointNotificationCallback(client)
        enumerator.registerEndpointNotificationCallback(client)
        check("mmdevenum.Unregister.unknown", hresult { try enumerator.unregisterEndpointNotificationCallback(SilentClient()) } == .E_NOTFOUND)
        check("mmdevenum.Unregister.first", hresult { try enumerator.unregisterEndpointNotificationCallback(client) } == .S_OK)
        check("mmdevenum.Unregister.second", hresult { try enumerator.unregisterEndpointNotificationCallback(client) } == .S_OK)
        check("mmdevenum.Unregister.third", hresult { try enumerator.unregisterEndpointNotificationCallback(client) } == .E_NOTFOUND)
    }

    static func collection(_ h: Harness) async throws {
        let devices = try h.enumerator.enumAudioEndpoints(.all, stateMask: .all)
        check("mmdevenum.collection.count", !devices.isEmpty)
        guard let first = devices.first else { return }
        check("mmdevenum.collection.GetDevice", (try? h.enumerator.getDevice(id: first.id))?.id == first.id)
    }
}
