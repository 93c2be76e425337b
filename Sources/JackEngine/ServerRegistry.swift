import AudioGraph
import Glibc
import Synchronization

/// Which JACK server this process's clients are on.
///
/// jackd2's libjack keeps the shared memory of one server per process: clients
/// of two servers in one process corrupt each other's port tables (port names
/// resolve on the wrong server). So the first open client pins the server
/// until every client has closed, and an open on another server fails with
/// ``EngineError/otherServerInUse(inUse:requested:)`` instead of corrupting.
///
/// Thread safety: any control thread.
enum ServerRegistry {
    private static let pinned = Mutex<(name: String, clients: Int)?>(nil)

    /// Resolves `serverName` the way libjack does and counts one more client on
    /// it. Throws if the process's clients are on another server.
    static func checkIn(_ serverName: String?) throws(EngineError) -> String {
        let resolved = serverName
            ?? getenv("JACK_DEFAULT_SERVER").map { String(cString: $0) } ?? "default"
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

    /// The server this process's open clients are on, if any.
    static var serverInUse: String? { pinned.withLock { $0?.name } }

    /// Counts one client fewer on `resolvedName`.
    static func checkOut(_ resolvedName: String) {
        pinned.withLock { pinned in
            guard let (name, clients) = pinned, name == resolvedName else { return }
            pinned = clients > 1 ? (name, clients - 1) : nil
        }
    }
}
