import Realtime
import Synchronization

/// Something that changed in the engine's graph, as its notification thread
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

/// The queue between the engine's notification thread and the library's control
/// thread: callbacks append a ``GraphChange`` and raise ``event``; the control
/// thread waits on the event and takes the changes in arrival order. The
/// shutdown callback raises the same event without queueing anything (it may
/// not lock): a woken control thread checks ``AudioEngine/isShutDown`` too.
///
/// Thread safety: ``append(_:)`` runs on the engine's notification thread (not
/// real-time: it may allocate and take the short mutex); ``take()`` and
/// ``event`` on any control thread.
public final class GraphChangeQueue: Sendable {
    /// Raised whenever a change is appended; wait on it, then ``take()``.
    public let event: RealtimeEvent
    private let pending = Mutex<[GraphChange]>([])

    public init() throws(RealtimeError) { event = try RealtimeEvent() }

    public func append(_ change: GraphChange) {
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
