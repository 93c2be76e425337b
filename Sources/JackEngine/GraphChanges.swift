import CJack
import Realtime
import Synchronization

/// Something that changed in the JACK graph, as JACK's notification thread
/// reported it. The names are resolved later, on a control thread: a port that
/// is gone by then is simply missing from the next scan.
public enum GraphChange: Sendable, Equatable {
    /// A port was registered (`true`) or unregistered (`false`).
    case port(id: UInt32, registered: Bool)
    /// A client was registered or unregistered.
    case client(name: String, registered: Bool)
    /// Two ports were connected or disconnected.
    case connection(UInt32, UInt32, connected: Bool)
    /// A port was renamed.
    case portRenamed(id: UInt32, oldName: String, newName: String)
    /// A metadata property of `subject` changed (`key` nil: all of the subject's).
    case property(subject: UInt64, key: String?, change: PropertyChange)
    /// The server's period changed.
    case bufferSize(UInt32)
    /// The server's sample rate changed.
    case sampleRate(UInt32)

    /// `jack_property_change_t`.
    public enum PropertyChange: Sendable, Equatable { case created, changed, deleted }
}

/// The queue between JACK's notification thread and the library's control
/// thread: callbacks append a ``GraphChange`` and raise ``event``; the control
/// thread waits on the event and takes the changes in arrival order. The
/// shutdown callback raises the same event without queueing anything (it may
/// not lock): a woken control thread checks ``JackClient/isShutDown`` too.
///
/// Thread safety: ``append(_:)`` runs on JACK's notification thread (not
/// real-time: it may allocate and take the short mutex); ``take()`` and
/// ``event`` on any control thread.
public final class GraphChangeQueue: Sendable {
    /// Raised whenever a change is appended; wait on it, then ``take()``.
    public let event: RealtimeEvent
    private let pending = Mutex<[GraphChange]>([])

    init() throws(RealtimeError) { event = try RealtimeEvent() }

    func append(_ change: GraphChange) {
        pending.withLock { $0.append(change) }
        event.signal()
    }

    /// Removes and returns every change recorded so far, oldest first.
    public func take() -> [GraphChange] {
        pending.withLock { changes in
            defer { changes.removeAll(keepingCapacity: true) }
            return changes
        }
    }
}

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
