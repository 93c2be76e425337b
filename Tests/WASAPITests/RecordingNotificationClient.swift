import JackTestSupport
import Synchronization
import WASAPI

/// An MMNotificationClient that records every call, for assertions.
final class RecordingNotificationClient: MMNotificationClient {
    enum Call: Equatable, Sendable {
        case added(String)
        case removed(String)
        case state(String, DeviceState)
        case defaultChanged(DataFlow, Role, String?)
        case property(String, PropertyKey)
    }

    private let calls = Mutex<[Call]>([])

    var recorded: [Call] { calls.withLock { $0 } }

    func onDeviceAdded(deviceID: String) { calls.withLock { $0.append(.added(deviceID)) } }
    func onDeviceRemoved(deviceID: String) { calls.withLock { $0.append(.removed(deviceID)) } }
    func onDeviceStateChanged(deviceID: String, newState: DeviceState) {
        calls.withLock { $0.append(.state(deviceID, newState)) }
    }
    func onDefaultDeviceChanged(flow: DataFlow, role: Role, deviceID: String?) {
        calls.withLock { $0.append(.defaultChanged(flow, role, deviceID)) }
    }
    func onPropertyValueChanged(deviceID: String, key: PropertyKey) {
        calls.withLock { $0.append(.property(deviceID, key)) }
    }

    /// Waits (polling) until `predicate` holds for the recorded calls, up to `seconds`.
    func wait(seconds: Double = 5, until predicate: ([Call]) -> Bool) async -> Bool {
        for _ in 0..<Int(seconds * 100) {
            if predicate(recorded) { return true }
            try? await pause(for: .milliseconds(10))
        }
        return predicate(recorded)
    }
}
