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
/// other calls included: an API call that meets a slow or stuck database at
/// every step, with its request lock waits besides, still returns within
/// 2 s), and then gets no answer (reads nil, writes false). A call that has
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

    private let lane = Lane()
    private let refusing = Atomic<Bool>(false)

    init(limitNanoseconds: UInt64) {
        self.limitNanoseconds = limitNanoseconds
    }

    /// Runs `body` on the database thread and returns its result, or nil if
    /// it did not return within the limit of this call, a stuck call is
    /// still running, or the process is exiting. `client`: the client whose
    /// handle `body` uses.
    func perform<T: Sendable>(for client: JackClient? = nil, _ body: @escaping @Sendable () -> T) -> T? {
        guard !refusing.load(ordering: .acquiring), !lane.isStuck(after: limitNanoseconds) else { return nil }
        let job = Job<T>()
        let tag = client.map { UInt(bitPattern: ObjectIdentifier($0)) } ?? 0
        lane.queue.async { [lane] in
            guard job.begin() else { return }  // its caller gave up before it ran
            lane.runningFor.store(tag, ordering: .releasing)
            lane.runningSince.store(trustedMonotonicNanoseconds(), ordering: .releasing)
            let value = body()
            lane.runningSince.store(0, ordering: .releasing)
            lane.runningFor.store(0, ordering: .releasing)
            job.finish(value)
        }
        let deadline = trustedMonotonicNanoseconds() &+ limitNanoseconds
        return job.result(givingUpWhen: { [lane, limitNanoseconds] in
            lane.isStuck(after: limitNanoseconds) || trustedMonotonicNanoseconds() >= deadline
        })
    }

    /// Whether a call has been running for longer than the limit.
    var isStuck: Bool { lane.isStuck(after: limitNanoseconds) }

    /// Whether the call running for longer than the limit uses `client`'s handle.
    func isStuck(using client: JackClient) -> Bool {
        lane.runningFor.load(ordering: .acquiring) == UInt(bitPattern: ObjectIdentifier(client)) && isStuck
    }

    /// Waits, at most the limit, until no call that uses `client`'s handle runs.
    /// - Returns: false if one is still running (it is stuck in the database).
    func waitUntilIdle(for client: JackClient) -> Bool {
        let tag = UInt(bitPattern: ObjectIdentifier(client))
        let deadline = trustedMonotonicNanoseconds() + limitNanoseconds
        while lane.runningFor.load(ordering: .acquiring) == tag {
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
        while lane.runningSince.load(ordering: .acquiring) != 0 && trustedMonotonicNanoseconds() < deadline {
            usleep(1_000)
        }
    }
}

/// The serial queue calls run on, and what runs on it now.
private final class Lane: Sendable {
    let queue = DispatchQueue(label: "wasapi-jack.jack-metadata")
    /// When the call now running began (0: none is running).
    let runningSince = Atomic<UInt64>(0)
    /// The client whose handle the running call uses (0: none).
    let runningFor = Atomic<UInt>(0)

    func isStuck(after limit: UInt64) -> Bool {
        let since = runningSince.load(ordering: .acquiring)
        return since != 0 && trustedMonotonicNanoseconds() &- since > limit
    }
}

/// One call's hand-over between its caller and the database thread.
private final class Job<T: Sendable>: @unchecked Sendable {
    private enum Stage: UInt8 { case waiting, running, done, abandoned }
    private let stage = Atomic<UInt8>(Stage.waiting.rawValue)
    private let done = DispatchSemaphore(value: 0)
    /// Written by the database thread before `done` is signalled; read by
    /// the caller after it was.
    private var value: T?

    /// The database thread takes the job; false if its caller gave up.
    func begin() -> Bool {
        stage.compareExchange(expected: Stage.waiting.rawValue, desired: Stage.running.rawValue,
                              ordering: .acquiringAndReleasing).exchanged
    }

    func finish(_ result: T) {
        value = result
        stage.store(Stage.done.rawValue, ordering: .releasing)
        done.signal()
    }

    /// The result, or nil once `givingUp` says to stop waiting (the caller's
    /// time is up, or the call running on the queue is stuck); a job given
    /// up before it began never runs.
    func result(givingUpWhen givingUp: () -> Bool) -> T? {
        while done.wait(timeout: .now() + .milliseconds(10)) == .timedOut {
            guard givingUp() else { continue }
            let (abandoned, seen) = stage.compareExchange(expected: Stage.waiting.rawValue, desired: Stage.abandoned.rawValue,
                                                          ordering: .acquiringAndReleasing)
            // Finished in the meantime: the value is there. Running: it is stuck.
            return !abandoned && seen == Stage.done.rawValue ? value : nil
        }
        return value
    }
}
