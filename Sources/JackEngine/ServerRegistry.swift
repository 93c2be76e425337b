import AudioGraph
import CJack
import Glibc
import Realtime
import Synchronization

/// Which JACK server this process's clients are on, and the order in which
/// they open and close.
///
/// - jackd2's libjack keeps the shared memory of one server per process:
///   clients of two servers in one process corrupt each other's port tables
///   (port names resolve on the wrong server). So the first open client pins
///   the server until every client has closed, and an open on another server
///   fails with ``EngineError/otherServerInUse(inUse:requested:)``. A client
///   that a close had to leave open (``JackClient``, behind a stuck metadata
///   call) keeps its server pinned for the rest of the process.
/// - Once any client of a process was shut down, jackd2's next
///   `jack_client_open` closes and frees every client of the process (it
///   takes the server for dead) and starts its process-wide state afresh.
///   Handles this package still holds would dangle, and a process thread
///   orphaned by a killed server would run on against the new state. So
///   clients open and close one at a time (``openLock``), and before
///   an open, every client is closed here first if one was shut down
///   (``closeAllIfOneWasShutDown()``): the ones still running are marked shut
///   down, so their owners see the server gone (AUDCLNT_E_DEVICE_INVALIDATED).
///   pipewire-jack's clients are independent of each other: nothing is
///   closed there.
///
/// Thread safety: any control thread, never JACK's threads.
enum ServerRegistry {
    private static let pinned = Mutex<(name: String, clients: Int)?>(nil)
    /// Open clients, by identity.
    private static let openClients = Mutex<[ObjectIdentifier: Entry]>([:])
    /// How many clients each server (by resolved name) dropped were closed
    /// in this process.
    private static let deadClientsClosed = Mutex<[String: Int]>([:])
    /// Serialises opening and closing clients (see the type's notes): held
    /// across `JackClient.init` and `JackClient.close()`.
    static let openLock = OpenLock()

    /// An open client: held weakly, with what closing it needs when its
    /// owner is already letting it go (its deinit waits for the open lock).
    private struct Entry {
        weak var client: JackClient?
        let handle: JackClient.ClientHandle
        let connection: ClientConnection
        /// What libjack's threads of the client reach.
        let graph: RealtimeBox<ProcessGraph>
        let notifications: NotificationContext
        /// Closed here while its deinit waited: the deinit calls nothing.
        var closedHere = false
    }

    /// Resolves `serverName` the way libjack does and counts one more client on
    /// it. Throws if the process's clients are on another server.
    static func checkIn(_ serverName: String?) throws(EngineError) -> String {
        let resolved = resolvedName(serverName)
        let conflict = pinned.withLock { pinned -> String? in
            switch pinned {
            case nil:
                pinned = (resolved, 1)
            case let (name, clients)? where name == resolved:
                pinned = (name, clients + 1)
            case let (name, _)?:
                return name
            }
            return nil
        }
        if let conflict { throw .otherServerInUse(inUse: conflict, requested: resolved) }
        return resolved
    }

    /// `serverName` as libjack resolves it: itself, else
    /// `$JACK_DEFAULT_SERVER`, else "default".
    static func resolvedName(_ serverName: String?) -> String {
        serverName ?? getenv("JACK_DEFAULT_SERVER").map { String(cString: $0) } ?? "default"
    }

    /// The server this process's open clients are on, if any.
    static var serverInUse: String? { pinned.withLock { $0?.name } }

    /// Counts one client fewer on `resolvedName`.
    static func checkOut(_ resolvedName: String) {
        pinned.withLock { pinned in
            guard let (name, clients) = pinned, name == resolvedName else { return }
            pinned = clients > 1 ? (name, clients - 1) : nil
        }
    }

    // MARK: Opening and closing, one at a time

    /// Closes every open client if one of them was shut down (jackd2 only).
    /// Call holding the open lock, right before `jack_client_open`.
    static func closeAllIfOneWasShutDown() {
        guard !JackImplementation.isPipeWire else { return }
        let entries = openClients.withLock { $0 }
        let anyShutDown = entries.values.contains { $0.client?.isShutDown ?? false }
        guard anyShutDown else { return }
        for (identity, entry) in entries {
            if let client = entry.client {
                client.closeAfterServerShutdown()
            } else {
                // Its deinit is waiting for the open lock: close the handle
                // for it, once its requests are over (the server is gone:
                // they fail at once).
                _ = entry.connection.drain(waitingAtMost: JackClient.requestDrainNanoseconds)
                _ = JackClient.deactivateAndClose(entry.handle, graph: entry.graph, notifications: entry.notifications)
                openClients.withLock { $0[identity]?.closedHere = true }
            }
        }
    }

    /// Counts a closed client that `server` had dropped (``nameAfterDeadClients(_:on:)``).
    static func noteDeadClientClosed(on server: String) {
        deadClientsClosed.withLock { $0[server, default: 0] += 1 }
    }

    /// The name to open a client on `server` under: `name` until a client
    /// that server dropped was closed in this process, then `name-N` (N: how
    /// many were), on jackd2.
    ///
    /// A dropped client's process thread may survive its `jack_client_close`
    /// (libjack stops it only when the dead server's shared memory still says
    /// the client is active), blocked on a futex in a shared-memory file named
    /// after the server and the client. A server restarted under the same
    /// name reuses that file for a client of the same name, and its first
    /// cycle would wake the orphaned thread into freed memory. A name never
    /// used before in this process gives the new client a file of its own.
    static func nameAfterDeadClients(_ name: String, on server: String) -> String {
        let generation = deadClientsClosed.withLock { $0[server] ?? 0 }
        guard generation > 0, !JackImplementation.isPipeWire else { return name }
        let suffix = "-\(generation)"
        return String(name.prefix(maximumClientNameLength - suffix.count)) + suffix
    }

    /// jackd2's JACK_CLIENT_NAME_SIZE (64) less its terminating zero.
    static let maximumClientNameLength = 63

    /// Records an opened client. Call holding the open lock.
    static func register(_ client: JackClient, handle: JackClient.ClientHandle, connection: ClientConnection,
                         graph: RealtimeBox<ProcessGraph>, notifications: NotificationContext) {
        openClients.withLock {
            $0[ObjectIdentifier(client)] = Entry(client: client, handle: handle, connection: connection,
                                                 graph: graph, notifications: notifications)
        }
    }

    /// Forgets a client that is closing. Call holding the open lock.
    /// - Returns: whether its handle was already closed here.
    static func unregister(_ client: JackClient) -> Bool {
        openClients.withLock { $0.removeValue(forKey: ObjectIdentifier(client))?.closedHere ?? false }
    }
}

/// A recursive mutex that can be held across an initializer (`Mutex` takes a
/// closure). Recursive because a client released while the lock is held (its
/// last reference dropped by ``ServerRegistry/closeAllIfOneWasShutDown()``)
/// closes itself in its deinit. Never used on JACK's threads.
final class OpenLock: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)

    init() {
        var attributes = pthread_mutexattr_t()
        pthread_mutexattr_init(&attributes)
        pthread_mutexattr_settype(&attributes, Int32(PTHREAD_MUTEX_RECURSIVE))
        pthread_mutex_init(mutex, &attributes)
        pthread_mutexattr_destroy(&attributes)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    func lock() { pthread_mutex_lock(mutex) }
    func unlock() { pthread_mutex_unlock(mutex) }
}
