import AudioGraph
import Dispatch
import Glibc
import Realtime
import Synchronization

/// Every call into JACK's metadata database, made on one thread of its own
/// with a bounded wait.
///
/// jackd2 keeps metadata in a Berkeley DB that every server and client of the
/// user shares (`/dev/shm/jack_db-UID`), opened without deadlock detection
/// or recovery of dead holders: a process that dies inside a database call
/// (a jackd killed with SIGKILL, a process that exits while another of its
/// threads reads) leaves its page locks held, and every later call that needs
/// those pages waits forever, in every process (seen in the chaos test:
/// `db5.3_stat -Co` listed READ locks held by dead pids, with jackd's own
/// client-close path waiting behind them).
///
/// So a caller waits at most ``limitNanoseconds`` (0.5 s, time queued behind
/// other calls included, and less when its API call's ``CallDeadline`` is
/// nearer), and then gets no answer (reads nil, writes false). A call that has
/// run past the limit stays on the thread; until it returns, later calls get
/// no answer at once instead of queueing behind it.
/// A call held by a dead process's lock never returns: metadata is then
/// unavailable to this process (sessions stay local), and nothing waits.
/// It is not moved to a new thread: libjack frees its database handle when
/// the process's last client closes, under a call still inside it.
/// At exit, new calls are refused and the one running may finish
/// (``drainForExit()``), so that this process never dies inside the
/// database.
///
/// A call that does come back after its caller gave up has its result
/// dropped. Calls that use a client handle are tagged with the client, and
/// ``JackClient`` waits for its own before `jack_client_close`.
///
/// Thread safety: any control thread; never JACK's threads.
final class MetadataAccess: Sendable {
    /// The process's one, whose running call may finish at exit.
    static let shared: MetadataAccess = {
        let access = MetadataAccess(limitNanoseconds: 500_000_000)
        ProcessExit.onExit { access.drainForExit() }
        return access
    }()

    /// How long a caller waits for the database.
    let limitNanoseconds: UInt64

    private let lane = BoundedLane(label: "wasapi-jack.jack-metadata")
    private let refusing = Atomic<Bool>(false)

    init(limitNanoseconds: UInt64) {
        self.limitNanoseconds = limitNanoseconds
    }

    /// Runs `body` on the database thread and returns its result, or nil if
    /// it did not return within the limit of this call, a stuck call is
    /// still running, or the process is exiting. `client`: the connection
    /// whose handle `body` uses.
    func perform<T: Sendable>(for client: ClientConnection? = nil, _ body: @escaping @Sendable () -> T) -> T? {
        guard !refusing.load(ordering: .acquiring) else { return nil }
        return lane.perform(limit: CallDeadline.limit(limitNanoseconds), stuckAfter: limitNanoseconds,
                            tag: client?.tag ?? 0, body)
    }

    /// Whether a call has been running for longer than the limit.
    var isStuck: Bool { lane.isStuck(after: limitNanoseconds) }

    /// Whether the call running for longer than the limit uses `client`'s handle.
    func isStuck(using client: ClientConnection) -> Bool {
        lane.isRunning(tag: client.tag) && isStuck
    }

    /// Waits, at most the limit, until no call that uses `client`'s handle runs.
    /// - Returns: false if one is still running (it is stuck in the database).
    func waitUntilIdle(for client: ClientConnection) -> Bool {
        let tag = client.tag
        let deadline = trustedMonotonicNanoseconds() + limitNanoseconds
        while lane.isRunning(tag: tag) {
            if trustedMonotonicNanoseconds() >= deadline { return false }
            usleep(1_000)
        }
        return true
    }

    /// Refuses new calls and waits, at most the limit, for the one running:
    /// from ``ProcessExit``, so that the process does not die inside the
    /// database.
    func drainForExit() {
        refusing.store(true, ordering: .releasing)
        let deadline = trustedMonotonicNanoseconds() + limitNanoseconds
        while lane.isRunning && trustedMonotonicNanoseconds() < deadline {
            usleep(1_000)
        }
    }
}
