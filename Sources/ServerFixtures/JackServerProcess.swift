import CJack
import JackEngine
import CLinuxSystem
import Foundation
import Glibc
import Synchronization

/// A private `jackd` with the dummy backend, started and stopped by this
/// process: for tests, demos and the command line's `--start-server`. No sound
/// hardware and no system service is involved.
///
/// jackd is started from an argument vector (no shell ever sees the name),
/// and the kernel stops it when this process dies, even by a crash or
/// SIGKILL (`PR_SET_PDEATHSIG`), so a failed test never leaves a server
/// behind. Its output goes to a log file (``logPath``) in a fresh directory
/// of mode 0700 (``logDirectory``), never to our stdout or a predictable
/// path; ``stop()`` removes both.
///
/// Server names are checked first (``validateServerName(_:)``).
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
        case invalidName(ServerNameError)
        case jackdNotFound
        /// The private directory for the log could not be made.
        case logDirectoryFailed(path: String, errno: Int32)
        case spawnFailed(errno: Int32)
        case didNotAnswer(name: String, seconds: Int, log: String)
        /// jackd did not answer and jackd2's per-user metadata database
        /// (Berkeley DB, shared by every server of the user) is there,
        /// possibly locked by a process that died holding it.
        case metadataDatabaseWedged(name: String, seconds: Int, database: MetadataDatabaseState)
        /// jackd allows 8 servers at once. A server that was killed (SIGKILL,
        /// a crash) stays registered until one of the same name starts.
        case tooManyServers(name: String)

        public var description: String {
            switch self {
            case let .invalidName(error):
                return error.description
            case let .logDirectoryFailed(path, code):
                return "could not create a private directory for jackd's log in \(path): \(String(cString: strerror(code)))"
            case .jackdNotFound:
                return "jackd is not installed (apt-get install jackd2)"
            case let .spawnFailed(code):
                return "could not start jackd: \(String(cString: strerror(code)))"
            case let .metadataDatabaseWedged(name, seconds, database):
                return "jackd '\(name)' did not answer within \(seconds) s, and jackd2's metadata database "
                    + "\(database.path) (last changed \(database.ageSeconds) s ago\(database.isLocked ? ", locked by another process" : "")) "
                    + "may be wedged: stop every jackd of this user, then remove \(database.path) (rm -rf), and start again"
            case let .didNotAnswer(name, seconds, log):
                return "jackd '\(name)' did not answer within \(seconds) s; its log:\n\(log)"
            case let .tooManyServers(name):
                return "jackd refused to start '\(name)': too many servers already active (jackd allows 8). "
                    + "Stop some (the entries of killed servers were freed; see JackServerRegistry)"
            }
        }
    }

    /// Why a server name was refused (see ``validateServerName(_:)``).
    public enum ServerNameError: Error, Equatable, CustomStringConvertible, Sendable {
        case empty
        case tooLong(count: Int)
        case forbiddenCharacter(Unicode.Scalar)

        public var description: String {
            switch self {
            case .empty:
                return "a JACK server name must not be empty"
            case let .tooLong(count):
                return "a JACK server name has at most \(JackServerProcess.maximumNameLength) characters, not \(count)"
            case let .forbiddenCharacter(scalar):
                return "a JACK server name may contain only letters A-Z a-z, digits, '.', '_' and '-', not "
                    + (scalar.properties.generalCategory == .control ? "U+\(String(scalar.value, radix: 16, uppercase: true))" : "'\(scalar)'")
            }
        }
    }

    /// The longest server name accepted.
    public static let maximumNameLength = 64

    /// Checks that `name` is safe as a server name, a file name component and a
    /// command-line argument: 1 to 64 characters from `[A-Za-z0-9._-]`, so no
    /// `/`, no control characters and no shell syntax; nor a `-` at the start
    /// (option-like), nor `.` or `..` (jackd makes a directory of that name).
    public static func validateServerName(_ name: String) throws(ServerNameError) {
        guard !name.isEmpty else { throw .empty }
        let scalars = name.unicodeScalars
        guard scalars.count <= maximumNameLength else { throw .tooLong(count: scalars.count) }
        for scalar in scalars {
            let allowed = ("A"..."Z").contains(scalar) || ("a"..."z").contains(scalar)
                || ("0"..."9").contains(scalar) || scalar == "." || scalar == "_" || scalar == "-"
            guard allowed else { throw .forbiddenCharacter(scalar) }
        }
        if scalars.first == "-" { throw .forbiddenCharacter("-") }
        if name == "." || name == ".." { throw .forbiddenCharacter(".") }
    }

    public let configuration: Configuration
    /// The server name clients pass as JackServerName.
    public var name: String { configuration.name }
    /// Whether the running server uses real-time scheduling.
    public let isRealtime: Bool
    /// The private directory (mode 0700, made by `mkdtemp`) that holds the log.
    public let logDirectory: String
    /// Where the server's output goes (inside ``logDirectory``).
    public let logPath: String
    /// jackd's pid while it runs and has not been waited for; 0 afterwards.
    private let server: Mutex<pid_t>
    /// jackd's process id while it runs (0 once stopped), e.g. to read its
    /// CPU time from /proc.
    public var processID: pid_t { server.withLock { $0 } }

    /// Starts the server and returns once it accepts clients.
    public static func start(_ configuration: Configuration,
                             timeoutSeconds: Int = 15) throws(StartError) -> JackServerProcess {
        do { try validateServerName(configuration.name) } catch { throw .invalidName(error) }
        JackServerRegistry.reclaimDeadServers()
        let wantRealtime = configuration.realtime ?? systemAllowsRealtime()
        do {
            return try JackServerProcess(configuration, realtime: wantRealtime, timeoutSeconds: timeoutSeconds)
        } catch .didNotAnswer where wantRealtime && configuration.realtime == nil {
            return try JackServerProcess(configuration, realtime: false, timeoutSeconds: timeoutSeconds)
        }
    }

    /// `F_OFD_SETLK` (Linux 3.15; Glibc exports it only with _GNU_SOURCE).
    public static let ofdSetLock: Int32 = 37

    /// jackd2's per-user metadata database as found on disk.
    public struct MetadataDatabaseState: Sendable, Equatable {
        /// The directory (`/dev/shm/jack_db-UID` for jackd2 1.9.21).
        public var path: String
        /// Seconds since its newest file changed.
        public var ageSeconds: Int
        /// Whether a file in it is locked (a non-blocking write lock was refused).
        public var isLocked: Bool
    }

    /// The metadata database jackd2 keeps for `uid` under `directory`, or nil
    /// when there is none. Never blocks: each file is probed with a
    /// non-blocking open-file-description write lock (which conflicts with
    /// POSIX record locks held by any process, this one included).
    public static func metadataDatabase(in directory: String = "/dev/shm", uid: uid_t = getuid(),
                                        now: time_t = time(nil)) -> MetadataDatabaseState? {
        let path = "\(directory)/jack_db-\(uid)"
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else { return nil }
        var newest = info.st_mtim.tv_sec
        var locked = false
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        for name in names {
            let file = path + "/" + name
            var fileInfo = stat()
            guard stat(file, &fileInfo) == 0, (fileInfo.st_mode & S_IFMT) == S_IFREG else { continue }
            newest = max(newest, fileInfo.st_mtim.tv_sec)
            let fd = open(file, O_RDWR | O_CLOEXEC | O_NONBLOCK)
            guard fd >= 0 else { continue }
            defer { close(fd) }
            var lock = flock()
            lock.l_type = Int16(F_WRLCK)
            lock.l_whence = Int16(SEEK_SET)
            if fcntl(fd, Self.ofdSetLock, &lock) != 0 && (errno == EAGAIN || errno == EACCES) { locked = true }
        }
        return MetadataDatabaseState(path: path, ageSeconds: Int(max(0, now - newest)), isLocked: locked)
    }

    private init(_ configuration: Configuration, realtime: Bool, timeoutSeconds: Int) throws(StartError) {
        self.configuration = configuration
        self.isRealtime = realtime
        guard let jackd = Self.findJackd() else { throw .jackdNotFound }
        logDirectory = try Self.makePrivateDirectory()
        logPath = logDirectory + "/jackd.log"
        let log = open(logPath, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard log >= 0 else {
            let code = errno
            rmdir(logDirectory)
            throw .logDirectoryFailed(path: logDirectory, errno: code)
        }
        let arguments = [
            jackd, "-n", configuration.name, realtime ? "-R" : "-r",
            "-t", String(configuration.clientTimeoutMilliseconds),
            "-d", "dummy", "-r", String(configuration.sampleRate), "-p", String(configuration.period),
            "-C", String(configuration.captureChannels), "-P", String(configuration.playbackChannels),
        ]
        let pid = SpawningThread.shared.spawn(arguments, logDescriptor: log)
        close(log)
        guard pid > 0 else {
            unlink(logPath)
            rmdir(logDirectory)
            throw .spawnFailed(errno: -pid)
        }
        server = Mutex(pid)
        let deadline = Self.nowMilliseconds() + timeoutSeconds * 1000
        while !Self.answers(configuration.name) {
            let exited = server.withLock { pid in
                var status: Int32 = 0
                guard waitpid(pid, &status, WNOHANG) == pid else { return false }
                pid = 0
                return true
            }
            if Self.nowMilliseconds() > deadline || exited {
                let log = Self.readLog(logPath)
                stop()
                if log.contains("Too many servers already active") { throw .tooManyServers(name: configuration.name) }
                if !exited, let database = Self.metadataDatabase() {
                    throw .metadataDatabaseWedged(name: configuration.name, seconds: timeoutSeconds, database: database)
                }
                throw .didNotAnswer(name: configuration.name, seconds: timeoutSeconds, log: log)
            }
            usleep(50_000)
        }
    }

    deinit { stop() }

    /// Stops the server (SIGTERM, then SIGKILL if it has not exited within
    /// 30 seconds), waits for it, and removes its log and log directory.
    /// The bound is generous on purpose: jackd 1.9.21 sometimes takes seconds
    /// to shut down after a client died mid-cycle, and a server that has to
    /// be killed stays in jackd's shared registry (8 entries at most).
    public func stop() {
        let pid = server.withLock { pid in
            defer { pid = 0 }
            return pid
        }
        if pid > 0 {
            kill(pid, SIGTERM)
            var status: Int32 = 0
            let deadline = Self.nowMilliseconds() + 30_000
            while waitpid(pid, &status, WNOHANG) == 0 {
                if Self.nowMilliseconds() > deadline {
                    kill(pid, SIGKILL)
                    waitpid(pid, &status, 0)
                    break
                }
                usleep(10_000)
            }
        }
        unlink(logPath)
        rmdir(logDirectory)
    }

    /// Kills the server with SIGKILL, as a crash would, waits for it, and
    /// removes the metadata database it may have left locked (fault tests;
    /// see ``removeMetadataDatabase(in:uid:)``). jackd keeps a killed server's entry in its shared
    /// registry until a server of the same name starts, so a caller starts
    /// one under the same name afterwards (and stops it cleanly).
    public func crash() {
        let pid = server.withLock { pid in
            defer { pid = 0 }
            return pid
        }
        guard pid > 0 else { return }
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        Self.removeMetadataDatabase()
        unlink(logPath)
        rmdir(logDirectory)
    }

    /// Removes jackd2's metadata database files, as a server that stops
    /// cleanly does (`JackMetadata`'s destructor in the engine): a killed
    /// server cannot, and it may have died inside the database, holding
    /// locks there that are never released (its Berkeley DB environment has
    /// no recovery of dead holders). Processes that have the files open keep
    /// their copy; the next server and the clients that open after it start
    /// a fresh one. Only regular files of ours in a directory of ours are
    /// removed, never through a symbolic link.
    public static func removeMetadataDatabase(in directory: String = "/dev/shm", uid: uid_t = getuid()) {
        let path = "\(directory)/jack_db-\(uid)"
        let folder = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard folder >= 0 else { return }
        defer { close(folder) }
        var info = stat()
        guard fstat(folder, &info) == 0, info.st_uid == uid else { return }
        for name in ["metadata.db", "__db.001", "__db.002", "__db.003"] {
            var file = stat()
            guard fstatat(folder, name, &file, AT_SYMLINK_NOFOLLOW) == 0,
                  file.st_mode & S_IFMT == S_IFREG, file.st_uid == uid else { continue }
            unlinkat(folder, name, 0)
        }
        rmdir(path)
    }

    // MARK: Helpers

    private static let nextSerial = Atomic<Int>(0)

    private static func systemAllowsRealtime() -> Bool {
        if geteuid() == 0 { return true }
        var limit = rlimit()
        return getrlimit(__rlimit_resource_t(__RLIMIT_RTPRIO.rawValue), &limit) == 0 && limit.rlim_cur > 0
    }

    /// The absolute path of `jackd` on `$PATH`, so that the child runs no search.
    private static func findJackd() -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").lazy.map { "\($0)/jackd" }.first { $0.hasPrefix("/") && access($0, X_OK) == 0 }
    }

    /// A fresh directory of mode 0700 from `mkdtemp`: under `$XDG_RUNTIME_DIR`
    /// when that is a directory of ours, else under /tmp.
    private static func makePrivateDirectory() throws(StartError) -> String {
        var base = "/tmp"
        if let runtime = ProcessInfo.processInfo.environment["XDG_RUNTIME_DIR"], runtime.hasPrefix("/") {
            var info = stat()
            if lstat(runtime, &info) == 0, info.st_mode & S_IFMT == S_IFDIR, info.st_uid == geteuid() { base = runtime }
        }
        var template = Array("\(base)/wasapi-jack-server-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) != nil }
        guard made else { throw .logDirectoryFailed(path: base, errno: errno) }
        return template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    /// Whether a client opens on the server. When this process may not open
    /// one (a metadata call held by a dead process: ``EngineError/metadataHeld(serverName:)``),
    /// whether the server's socket accepts a connection.
    private static func answers(_ name: String) -> Bool {
        do {
            let client = try JackClient(name: "probe", serverName: name)
            client.close()
            return true
        } catch .metadataHeld {
            return JackAudioEngine.serverAnswers(serverName: name)
        } catch {
            return false
        }
    }

    /// The log, opened without following a symbolic link and read through
    /// Foundation (at most 1 MB).
    private static func readLog(_ path: String) -> String {
        let descriptor = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard descriptor >= 0 else { return "(no log)" }
        let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
        let data = (try? handle.read(upToCount: 1 << 20)) ?? nil
        return String(decoding: data ?? Data(), as: UTF8.self)
    }

    private static func nowMilliseconds() -> Int {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return now.tv_sec * 1000 + now.tv_nsec / 1_000_000
    }
}

/// The one thread that forks every jackd.
///
/// `PR_SET_PDEATHSIG` fires when the *thread* that forked the child ends,
/// not only the process. Callers of ``JackServerProcess/start(_:timeoutSeconds:)``
/// run on pool threads that may be retired while the server should go on,
/// so the fork happens here, on a thread that lives as long as the process.
private final class SpawningThread: Sendable {
    static let shared = SpawningThread()
    private let requests = Mutex<[Request]>([])
    private let wake = DispatchSemaphore(value: 0)

    /// One spawn: written by the caller before `wake`, the pid by the thread before `done`.
    private final class Request: @unchecked Sendable {
        let arguments: [String]
        let logDescriptor: Int32
        var pid: pid_t = -EAGAIN
        let done = DispatchSemaphore(value: 0)

        init(arguments: [String], logDescriptor: Int32) {
            self.arguments = arguments
            self.logDescriptor = logDescriptor
        }
    }

    private init() {
        let thread = Thread { [self] in
            while true {
                wake.wait()
                let request = requests.withLock { $0.removeFirst() }
                var cArguments: [UnsafeMutablePointer<CChar>?] = request.arguments.map { strdup($0) } + [nil]
                request.pid = cArguments.withUnsafeMutableBufferPointer {
                    wasapi_jack_spawn_tied($0.baseAddress!, request.logDescriptor)
                }
                cArguments.forEach { free($0) }
                request.done.signal()
            }
        }
        thread.name = "jackd spawner"
        thread.start()
    }

    /// Runs `arguments` (the first an absolute path) with its output on
    /// `logDescriptor`; the pid, or -errno.
    func spawn(_ arguments: [String], logDescriptor: Int32) -> pid_t {
        let request = Request(arguments: arguments, logDescriptor: logDescriptor)
        requests.withLock { $0.append(request) }
        wake.signal()
        request.done.wait()
        return request.pid
    }
}
