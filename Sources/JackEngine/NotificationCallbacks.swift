import AudioGraph
import CJack
import Realtime
import Synchronization

/// What JACK's notification callbacks reach through their `void *`: the
/// client's change queue, its port latencies and the gate that keeps the
/// callbacks out while the client closes. The ``JackClient`` keeps it alive
/// (passed unretained) until the client is closed.
final class NotificationContext: Sendable {
    let changes: GraphChangeQueue
    let latencies: PortLatencies
    let gate = NotificationGate()

    init(changes: GraphChangeQueue, latencies: PortLatencies) {
        self.changes = changes
        self.latencies = latencies
    }

    /// Runs `body` on the context behind `argument`, unless the gate is shut.
    static func enter(_ argument: UnsafeMutableRawPointer?, _ body: (NotificationContext) -> Void) {
        let context = Unmanaged<NotificationContext>.fromOpaque(argument!).takeUnretainedValue()
        guard context.gate.enter() else { return }
        defer { context.gate.leave() }
        body(context)
    }
}

/// JACK's notification callbacks, as free functions (never closures with
/// captures). Each passes through the ``NotificationGate``, records what
/// happened and returns. None calls back into the server, which jackd2
/// refuses from this thread.
enum NotificationCallbacks {
    static func install(on client: OpaquePointer, context: NotificationContext) {
        let argument = Unmanaged.passUnretained(context).toOpaque()
        jack_set_port_registration_callback(client, { id, registered, argument in
            NotificationContext.enter(argument) { $0.changes.append(.port(id: id, registered: registered != 0)) }
        }, argument)
        jack_set_client_registration_callback(client, { name, registered, argument in
            NotificationContext.enter(argument) {
                $0.changes.append(.client(name: name.map { String(cString: $0) } ?? "", registered: registered != 0))
            }
        }, argument)
        jack_set_port_connect_callback(client, { a, b, connected, argument in
            NotificationContext.enter(argument) { $0.changes.append(.connection(a, b, connected: connected != 0)) }
        }, argument)
        jack_set_port_rename_callback(client, { id, oldName, newName, argument in
            NotificationContext.enter(argument) {
                $0.changes.append(.portRenamed(id: id, oldName: oldName.map { String(cString: $0) } ?? "",
                                               newName: newName.map { String(cString: $0) } ?? ""))
            }
        }, argument)
        jack_set_property_change_callback(client, { subject, key, change, argument in
            let kind: GraphChange.PropertyChange = switch change {
            case PropertyCreated: .created
            case PropertyDeleted: .deleted
            default: .changed
            }
            NotificationContext.enter(argument) {
                $0.changes.append(.property(subject: subject, key: key.map { String(cString: $0) }, change: kind))
            }
        }, argument)
        jack_set_buffer_size_callback(client, { frames, argument in
            NotificationContext.enter(argument) { $0.changes.append(.bufferSize(frames)) }
            return 0
        }, argument)
        jack_set_sample_rate_callback(client, { rate, argument in
            NotificationContext.enter(argument) { $0.changes.append(.sampleRate(rate)) }
            return 0
        }, argument)
        // JACK's notification thread, not real-time.
        jack_set_latency_callback(client, { mode, argument in
            NotificationContext.enter(argument) { $0.latencies.apply(mode) }
        }, argument)
    }
}
