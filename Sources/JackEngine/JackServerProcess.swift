import CJack
import Glibc
import Synchronization

/// A private `jackd` with the dummy backend, started and stopped by this
/// process: for tests, demos and the command line's `--start-server`. No sound
/// hardware and no system service is involved.
///
/// The server runs under a watchdog shell that stops it when this process
/// dies, even by a crash, so a failed test never leaves a server behind.
/// Its output goes to a log file (``logPath``), never to our stdout.
///
/// Thread safety: ``start(_:)`` and ``stop()`` may be called from any control
/// thread; ``stop()`` is idempotent and also runs on deinit.
public final class JackServerProcess: @unchecked Sendable {
    /// How to run the server.
    public struct Configuration: Sendable {
        /// Server name (`jackd -n`); unique per test so parallel runs never meet.
        public var name: String
        public var sampleRate = 48_000
        public var period = 64
        public var captureChannels = 2
        public var playbackChannels = 2
        /// Real-time scheduling: nil decides from the system (root or an
        /// RLIMIT_RTPRIO above zero); a server that fails with it is retried without.
        public var realtime: Bool? = nil
        /// Client timeout in milliseconds (`jackd -t`): generous, so that a debug
        /// build on a loaded machine is not thrown out of the graph.
        public var clientTimeoutMilliseconds = 5_000

        public init(name: String) { self.name = name }

        /// A name no other process on this machine uses: prefix, pid, counter.
        public static func uniqueName(prefix: String = "wasapi-jack") -> String {
            "\(prefix)-\(getpid())-\(nextSerial.add(1, ordering: .relaxed).newValue)"
        }
    }

    /// Why a server could not be started.
    public enum StartError: Error, CustomStringConvertible, Sendable {
        case jackdNotFound
        case spawnFailed(errno: Int32)
        case didNotAnswer(name: String, seconds: Int, log: String)
        /// jackd allows 8 servers at once. A server that was killed (SIGKILL,
        /// a crash) stays registered until one of the same name starts.
        case tooManyServers(name: String)

        public var description: String {
            switch self {
            case .jackdNotFound:
                return "jackd is not installed (apt-get install jackd2)"
            case let .spawnFailed(code):
                return "could not start jackd: \(String(cString: strerror(code)))"
            case let .didNotAnswer(name, seconds, log):
                return "jackd '\(name)' did not answer within \(seconds) s; its log:\n\(log)"
            case let .tooManyServers(name):
                return "jackd refused to start '\(name)': too many servers already active (jackd allows 8). "
                    + "Stop some; servers that were killed stay registered in /dev/shm/jack-shm-registry, "
                    + "which may be removed when no jackd is running"
            }
        }
    }

    public let configuration: Configuration
    /// The server name clients pass as JackServerName.
    public var name: String { configuration.name }
    /// Whether the running server uses real-time scheduling.
    public let isRealtime: Bool
    /// Where the server's output goes.
    public let logPath: String
    private var watchdog: pid_t

    /// Starts the server and returns once it accepts clients.
    public static func start(_ configuration: Configuration,
                             timeoutSeconds: Int = 15) throws(StartError) -> JackServerProcess {
        let wantRealtime = configuration.realtime ?? systemAllowsRealtime()
        do {
            return try JackServerProcess(configuration, realtime: wantRealtime, timeoutSeconds: timeoutSeconds)
        } catch .didNotAnswer where wantRealtime && configuration.realtime == nil {
            return try JackServerProcess(configuration, realtime: false, timeoutSeconds: timeoutSeconds)
        }
    }

    private init(_ configuration: Configuration, realtime: Bool, timeoutSeconds: Int) throws(StartError) {
        self.configuration = configuration
        self.isRealtime = realtime
        self.logPath = "/tmp/\(configuration.name).log"
        guard Self.findJackd() else { throw .jackdNotFound }
        watchdog = try Self.spawnWatchdog(configuration, realtime: realtime, logPath: logPath)
        let deadline = Self.nowMilliseconds() + timeoutSeconds * 1000
        while !Self.answers(configuration.name) {
            if Self.nowMilliseconds() > deadline || Self.hasExited(watchdog) {
                let log = Self.readLog(logPath)
                stop()
                if log.contains("Too many servers already active") { throw .tooManyServers(name: configuration.name) }
                throw .didNotAnswer(name: configuration.name, seconds: timeoutSeconds, log: log)
            }
            usleep(50_000)
        }
    }

    deinit { stop() }

    /// Stops the server and waits for it to exit.
    public func stop() {
        guard watchdog > 0 else { return }
        kill(watchdog, SIGTERM)
        var status: Int32 = 0
        waitpid(watchdog, &status, 0)
        watchdog = 0
        unlink(logPath)
    }

    // MARK: Helpers

    private static let nextSerial = Atomic<Int>(0)

    private static func systemAllowsRealtime() -> Bool {
        if geteuid() == 0 { return true }
        var limit = rlimit()
        return getrlimit(__rlimit_resource_t(__RLIMIT_RTPRIO.rawValue), &limit) == 0 && limit.rlim_cur > 0
    }

    private static func findJackd() -> Bool {
        let path = String(cString: getenv("PATH") ?? strdup("/usr/bin:/bin"))
        return path.split(separator: ":").contains { access("\($0)/jackd", X_OK) == 0 }
    }

    /// The watchdog: a shell that runs jackd, stops it on SIGTERM, and also when
    /// our process (its parent) is gone.
    private static func spawnWatchdog(_ configuration: Configuration, realtime: Bool,
                                      logPath: String) throws(StartError) -> pid_t {
        let jackd = [
            "jackd", "-n", configuration.name, realtime ? "-R" : "-r",
            "-t", String(configuration.clientTimeoutMilliseconds),
            "-d", "dummy", "-r", String(configuration.sampleRate), "-p", String(configuration.period),
            "-C", String(configuration.captureChannels), "-P", String(configuration.playbackChannels),
        ].joined(separator: " ")
        let script = """
            \(jackd) >'\(logPath)' 2>&1 </dev/null &
            server=$!
            trap 'kill $server 2>/dev/null; wait $server; exit 0' TERM INT
            while kill -0 \(getpid()) 2>/dev/null && kill -0 $server 2>/dev/null; do sleep 0.2; done
            kill $server 2>/dev/null; wait $server
            """
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for descriptor: Int32 in 0...2 {
            posix_spawn_file_actions_addopen(&actions, descriptor, "/dev/null", descriptor == 0 ? O_RDONLY : O_WRONLY, 0)
        }
        let arguments = ["/bin/sh", "-c", script]
        var cArguments: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { cArguments.forEach { free($0) } }
        var pid: pid_t = 0
        let code = posix_spawn(&pid, "/bin/sh", &actions, nil, &cArguments, environ)
        guard code == 0 else { throw .spawnFailed(errno: code) }
        return pid
    }

    private static func answers(_ name: String) -> Bool {
        guard let client = try? JackClient(name: "probe", serverName: name) else { return false }
        client.close()
        return true
    }

    private static func hasExited(_ pid: pid_t) -> Bool {
        var status: Int32 = 0
        return waitpid(pid, &status, WNOHANG) == pid
    }

    private static func readLog(_ path: String) -> String {
        guard let file = fopen(path, "r") else { return "(no log)" }
        defer { fclose(file) }
        var text = ""
        var line = [CChar](repeating: 0, count: 512)
        while fgets(&line, Int32(line.count), file) != nil { text += line.withUnsafeBufferPointer { String(cString: $0.baseAddress!) } }
        return text
    }

    private static func nowMilliseconds() -> Int {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return now.tv_sec * 1000 + now.tv_nsec / 1_000_000
    }
}
