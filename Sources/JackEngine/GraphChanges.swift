import AudioGraph
import CJack
import Realtime
import Synchronization

/// JACK's notification callbacks, as free functions (never closures). Each
/// receives the ``GraphChangeQueue`` as its `void *` argument (unretained: the
/// ``JackClient`` keeps the queue alive until the client is closed), records
/// what happened and returns. None calls back into the server, which jackd2
/// refuses from this thread.
enum GraphChangeCallbacks {
    static func queue(_ argument: UnsafeMutableRawPointer?) -> GraphChangeQueue {
        Unmanaged<GraphChangeQueue>.fromOpaque(argument!).takeUnretainedValue()
    }

    static func install(on client: OpaquePointer, queue: GraphChangeQueue) {
        let argument = Unmanaged.passUnretained(queue).toOpaque()
        jack_set_port_registration_callback(client, { id, registered, argument in
            GraphChangeCallbacks.queue(argument).append(.port(id: id, registered: registered != 0))
        }, argument)
        jack_set_client_registration_callback(client, { name, registered, argument in
            GraphChangeCallbacks.queue(argument).append(
                .client(name: name.map { String(cString: $0) } ?? "", registered: registered != 0))
        }, argument)
        jack_set_port_connect_callback(client, { a, b, connected, argument in
            GraphChangeCallbacks.queue(argument).append(.connection(a, b, connected: connected != 0))
        }, argument)
        jack_set_port_rename_callback(client, { id, oldName, newName, argument in
            GraphChangeCallbacks.queue(argument).append(.portRenamed(
                id: id, oldName: oldName.map { String(cString: $0) } ?? "",
                newName: newName.map { String(cString: $0) } ?? ""))
        }, argument)
        jack_set_property_change_callback(client, { subject, key, change, argument in
            let kind: GraphChange.PropertyChange = switch change {
            case PropertyCreated: .created
            case PropertyDeleted: .deleted
            default: .changed
            }
            GraphChangeCallbacks.queue(argument).append(
                .property(subject: subject, key: key.map { String(cString: $0) }, change: kind))
        }, argument)
        jack_set_buffer_size_callback(client, { frames, argument in
            GraphChangeCallbacks.queue(argument).append(.bufferSize(frames))
            return 0
        }, argument)
        jack_set_sample_rate_callback(client, { rate, argument in
            GraphChangeCallbacks.queue(argument).append(.sampleRate(rate))
            return 0
        }, argument)
    }
}
