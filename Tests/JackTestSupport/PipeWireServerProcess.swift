import Foundation
import Synchronization

/// Runs `body` against a private PipeWire daemon acting as a JACK server
/// (dummy driver, 48 kHz, quantum 64, `system:playback_1/2` and
/// `system:capture_1/2`), started for this call alone and stopped afterwards,
/// whether `body` returns, throws, or records a failed expectation.
///
/// The test process links jackd2's libjack, so its own JACK clients always
/// talk to jackd: PipeWire is reached only by child processes (the built
/// tool, JACK's example clients) run with ``PipeWireServerProcess/environment``,
/// for instance through ``PipeWireServerProcess/run(_:_:timeoutSeconds:)``.
/// That is also why no ``withJackLibrary(_:)`` gate is needed here: several
/// PipeWire servers may run at once. `body` runs on threads of its own
/// (``onTestThreads(_:)``).
public func withPipeWireServer<Result: Sendable>(
    sampleRate: Int = 48_000, quantum: Int = 64,
    _ body: (PipeWireServerProcess) async throws -> Result
) async throws -> Result {
    var configuration = PipeWireServerProcess.Configuration(
        name: PipeWireServerProcess.Configuration.uniqueName())
    configuration.sampleRate = sampleRate
    configuration.quantum = quantum
    let server = try PipeWireServerProcess.start(configuration)
    defer { server.stop() }
    return try await onTestThreads { try await body(server) }
}

/// A private, headless `pipewire` daemon that JACK clients reach through
/// pipewire-jack's libjack (Debian 12: pipewire-jack 0.3.65): no systemd,
/// no D-Bus, no WirePlumber, no sound hardware.
///
/// Each server lives in its own `mkdtemp` directory (mode 0700) that holds its
/// generated configuration, its log and its socket; the socket name is the
/// server name, which pipewire-jack maps from a JACK server name, so clients
/// pass `--server NAME` (or `JackServerName`) as with jackd.
///
/// The daemon is spawned without a shell. A control thread of its own starts
/// it and waits for it; through `setpriv --pdeathsig TERM` the daemon is told
/// to stop when that thread ends, so a crashed test process leaves no daemon
/// behind; its directory (named after the test process's pid) is removed by
/// the next server started on this machine.
///
/// Thread safety: ``start(_:timeoutSeconds:)``, ``run(_:_:timeoutSeconds:)``
/// and ``stop()`` may be called from any thread; ``stop()`` is idempotent and
/// also runs on deinit.
public final class PipeWireServerProcess: Sendable {
    /// How to run the daemon.
    public struct Configuration: Sendable {
        /// Socket name and JACK server name; unique per test.
        public var name: String
        public var sampleRate = 48_000
        /// The graph's quantum: the JACK period, in frames.
        public var quantum = 64
        /// Channels of `system:capture_N` and of `system:playback_N`.
        public var channels = 2

        public init(name: String) { self.name = name }

        /// A name no other process on this machine uses: prefix, pid, counter.
        public static func uniqueName(prefix: String = "wasapi-pw") -> String {
            "\(prefix)-\(getpid())-\(nextSerial.add(1, ordering: .relaxed).newValue)"
        }
    }

    /// Why a server could not be started.
    public enum StartError: Error, CustomStringConvertible, Sendable {
        case notInstalled(missing: String)
        case spawnFailed(errno: Int32)
        case exited(name: String, log: String)
        case didNotAnswer(name: String, seconds: Double, lastListing: String, log: String)

        public var description: String {
            switch self {
            case let .notInstalled(missing):
                return "\(missing) is not installed (scripts/install-deps.sh installs pipewire, pipewire-bin, pipewire-jack)"
            case let .spawnFailed(code):
                return "could not start pipewire: \(String(cString: strerror(code)))"
            case let .exited(name, log):
                return "pipewire '\(name)' exited while starting; its log:\n\(log)"
            case let .didNotAnswer(name, seconds, listing, log):
                return "pipewire '\(name)' did not show system:playback_N and system:capture_N to jack_lsp "
                    + "within \(seconds) s; jack_lsp said:\n\(listing)\nits log:\n\(log)"
            }
        }
    }

    /// What a program run against the server did.
    public struct ProgramResult: Sendable {
        /// The exit status, or the signal number if a signal ended it.
        public var status: Int32
        /// Whether it had to be stopped because it outlived its time.
        public var timedOut: Bool
        public var standardOutput: String
        public var standardError: String
    }

    /// Where pipewire-jack's libjack lives (Debian, amd64).
    public static let pipeWireJackLibraryDirectory = "/usr/lib/x86_64-linux-gnu/pipewire-0.3/jack"

    public let configuration: Configuration
    /// The socket name, which is also the JACK server name clients pass.
    public var name: String { configuration.name }
    /// The private directory: configuration, log, socket.
    public let directory: String
    /// The daemon's output.
    public var logPath: String { directory + "/pipewire.log" }
    /// The daemon's process id (valid until ``stop()``).
    public var processIdentifier: pid_t { daemon.processIdentifier }

    /// What a child process needs, added to its inherited environment, to
    /// reach this server the way `pw-jack` arranges it: pipewire-jack's libjack
    /// first on `LD_LIBRARY_PATH`, this server's runtime directory, and this
    /// server as the default remote (for clients that pass no server name).
    public let environment: [String: String]

    private let daemon: Daemon
    private let programSerial = Atomic<Int>(0)

    /// Starts the daemon and returns once `jack_lsp`, run as a client of it,
    /// lists the system ports (polled, at most `timeoutSeconds`).
    public static func start(_ configuration: Configuration,
                             timeoutSeconds: Double = 10) throws -> PipeWireServerProcess {
        for program in ["pipewire", "jack_lsp", "pw-metadata"] where findProgram(program) == nil {
            throw StartError.notInstalled(missing: program)
        }
        guard access(pipeWireJackLibraryDirectory + "/libjack.so.0", R_OK) == 0 else {
            throw StartError.notInstalled(missing: "pipewire-jack (\(pipeWireJackLibraryDirectory)/libjack.so.0)")
        }
        let server = try PipeWireServerProcess(configuration)
        do {
            try server.waitUntilReady(timeoutSeconds: timeoutSeconds)
        } catch {
            server.stop()
            throw error
        }
        return server
    }

    private init(_ configuration: Configuration) throws {
        self.configuration = configuration
        Self.removeDirectoriesOfDeadProcesses()
        var template = Array("\(Self.directoryPrefix)\(getpid())-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw StartError.spawnFailed(errno: errno)
        }
        directory = String(cString: made)   // mkdtemp creates it with mode 0700
        let inherited = ProcessInfo.processInfo.environment["LD_LIBRARY_PATH"].map { ":" + $0 } ?? ""
        environment = [
            "LD_LIBRARY_PATH": Self.pipeWireJackLibraryDirectory + inherited,
            "PIPEWIRE_RUNTIME_DIR": directory,
            "PIPEWIRE_REMOTE": configuration.name,
        ]
        let configPath = directory + "/wasapi-pipewire.conf"
        do {
            try Self.configurationText(configuration).write(toFile: configPath, atomically: false, encoding: .utf8)
            chmod(configPath, 0o600)
            var daemonEnvironment = ProcessInfo.processInfo.environment
            daemonEnvironment["PIPEWIRE_RUNTIME_DIR"] = directory
            daemonEnvironment["XDG_RUNTIME_DIR"] = directory
            daemonEnvironment["PIPEWIRE_REMOTE"] = nil
            var arguments = ["pipewire", "-c", configPath]
            if let setpriv = Self.findProgram("setpriv") {
                arguments = [setpriv, "--pdeathsig", "TERM", "--", Self.findProgram("pipewire")!] + arguments.dropFirst()
            } else {
                arguments[0] = Self.findProgram("pipewire")!
            }
            daemon = try Daemon.spawn(arguments, environment: daemonEnvironment, logPath: directory + "/pipewire.log")
        } catch {
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
    }

    deinit { stop() }

    /// Stops the daemon (SIGTERM; SIGKILL after 3 s), waits for it (bounded)
    /// and removes its directory.
    public func stop() {
        daemon.stop(graceSeconds: 3)
        if access(directory, F_OK) == 0 { try? FileManager.default.removeItem(atPath: directory) }
    }

    /// Whether the daemon process has exited (and was reaped).
    public var hasExited: Bool { daemon.hasExited }

    /// Runs `program` (a path, or a name looked up on PATH) as a client of
    /// this server, with ``environment`` added to the inherited environment,
    /// and waits for it: after `timeoutSeconds` it gets SIGTERM, two seconds
    /// later SIGKILL. Its output goes through files in the server's directory,
    /// so a chatty or hung child never blocks on a pipe.
    public func run(_ program: String, _ arguments: [String] = [],
                    timeoutSeconds: Double = 20) throws -> ProgramResult {
        guard let executable = program.contains("/") ? program : Self.findProgram(program) else {
            throw StartError.notInstalled(missing: program)
        }
        let serial = programSerial.add(1, ordering: .relaxed).newValue
        let outputPath = "\(directory)/run-\(serial).out", errorPath = "\(directory)/run-\(serial).err"
        defer { unlink(outputPath); unlink(errorPath) }
        func create(_ path: String) throws -> FileHandle {
            let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            guard descriptor >= 0 else { throw StartError.spawnFailed(errno: errno) }
            return FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = try create(outputPath)
        process.standardError = try create(errorPath)
        try process.run()
        let timedOut = !Self.poll(timeoutSeconds: timeoutSeconds) { !process.isRunning }
        if timedOut {
            process.terminate()
            if !Self.poll(timeoutSeconds: 2, until: { !process.isRunning }) {
                kill(process.processIdentifier, SIGKILL)
            }
        }
        process.waitUntilExit()
        func read(_ path: String) -> String {
            (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        }
        return ProgramResult(status: process.terminationStatus, timedOut: timedOut,
                             standardOutput: read(outputPath), standardError: read(errorPath))
    }

    /// The ports `jack_lsp` lists through this server.
    public func jackPorts() throws -> [String] {
        try run("jack_lsp", timeoutSeconds: 5).standardOutput.split(separator: "\n").map(String.init)
    }

    /// The daemon's output so far.
    public var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "(no log)" }

    // MARK: Starting

    private func waitUntilReady(timeoutSeconds: Double) throws {
        let expected = (1...configuration.channels).flatMap { ["system:playback_\($0)", "system:capture_\($0)"] }
        var listing = ""
        let ready = Self.poll(timeoutSeconds: timeoutSeconds, interval: 0.1) {
            if daemon.hasExited { return true }
            guard let result = try? run("jack_lsp", timeoutSeconds: 3) else { return false }
            listing = result.standardOutput + result.standardError
            let ports = Set(result.standardOutput.split(separator: "\n").map(String.init))
            return expected.allSatisfy(ports.contains)
        }
        if daemon.hasExited { throw StartError.exited(name: name, log: log) }
        guard ready else {
            throw StartError.didNotAnswer(name: name, seconds: timeoutSeconds, lastListing: listing, log: log)
        }
        // With min = max = quantum the graph already runs at the configured
        // quantum (jack_bufsize says so without this); forcing it as well
        // keeps it there should a configuration drop the clamp.
        _ = try? run("pw-metadata", ["-n", "settings", "0", "clock.force-quantum", String(configuration.quantum)],
                     timeoutSeconds: 5)
    }

    /// The daemon's configuration: the core with its native protocol, a dummy
    /// driver at the configured rate and quantum, and one node group named
    /// `system` whose ports carry position "unknown", so pipewire-jack names
    /// them `playback_N` and `capture_N` as jackd's dummy backend does:
    /// - playback: a null sink, the ports audio goes to and is dropped;
    /// - capture: ALSA's `null` PCM as a source (silence). A test source
    ///   (audiotestsrc) stalls the graph as a follower in 0.3.65.
    static func configurationText(_ configuration: Configuration) -> String {
        let positions = Array(repeating: "UNK", count: configuration.channels).joined(separator: " ")
        let quantum = configuration.quantum, rate = configuration.sampleRate
        let systemNode = """
            node.name = system node.description = system audio.channels = \(configuration.channels)
                    audio.position = [ \(positions) ] node.always-process = true
                    adapter.auto-port-config = { mode = dsp monitor = false control = false position = unknown }
            """
        return """
            # Generated by wasapi-jack's test support for one private server.
            context.properties = {
                core.daemon = true
                core.name = "\(configuration.name)"
                support.dbus = false
                mem.allow-mlock = false
                mem.warn-mlock = false
                log.level = 2
                link.max-buffers = 16
                default.clock.rate = \(rate)
                default.clock.allowed-rates = [ \(rate) ]
                default.clock.quantum = \(quantum)
                default.clock.min-quantum = \(quantum)
                default.clock.max-quantum = \(quantum)
                vm.overrides = { default.clock.min-quantum = \(quantum) }
            }
            context.spa-libs = {
                audio.convert.* = audioconvert/libspa-audioconvert
                api.alsa.* = alsa/libspa-alsa
                support.* = support/libspa-support
            }
            context.modules = [
                { name = libpipewire-module-rt args = { nice.level = -11 } flags = [ ifexists nofail ] }
                { name = libpipewire-module-protocol-native }
                { name = libpipewire-module-metadata }
                { name = libpipewire-module-spa-node-factory }
                { name = libpipewire-module-client-node }
                { name = libpipewire-module-access }
                { name = libpipewire-module-adapter }
                { name = libpipewire-module-link-factory }
            ]
            context.objects = [
                # JACK clients keep their metadata in "default"; pw-metadata sets "settings".
                { factory = metadata args = { metadata.name = default } }
                { factory = spa-node-factory args = {
                    factory.name = support.node.driver node.name = Dummy-Driver
                    node.group = pipewire.dummy priority.driver = 20000 } }
                { factory = spa-node-factory args = {
                    factory.name = support.node.driver node.name = Freewheel-Driver
                    node.group = pipewire.freewheel node.freewheel = true priority.driver = 19000 } }
                { factory = adapter args = {
                    factory.name = support.null-audio-sink media.class = Audio/Sink
                    \(systemNode) } }
                { factory = adapter args = {
                    factory.name = api.alsa.pcm.source api.alsa.path = "null" media.class = Audio/Source
                    priority.driver = 1
                    \(systemNode) } }
            ]

            """
    }

    // MARK: Helpers

    private static let nextSerial = Atomic<Int>(0)

    /// Directories are named after the process that made them.
    private static let directoryPrefix = "/tmp/wasapi-pipewire-"

    /// A test process that crashed left its directories (its daemons stopped
    /// with it, see the type's notes): remove those whose process is gone.
    private static func removeDirectoriesOfDeadProcesses() {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/tmp")) ?? []
        for entry in entries where entry.hasPrefix("wasapi-pipewire-") {
            let fields = entry.dropFirst("wasapi-pipewire-".count).split(separator: "-")
            guard fields.count == 2, let pid = pid_t(fields[0]), pid > 0, pid != getpid() else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH {
                try? FileManager.default.removeItem(atPath: "/tmp/" + entry)
            }
        }
    }

    static func findProgram(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(name)" }.first { access($0, X_OK) == 0 }
    }

    /// Polls `condition` every `interval` seconds until it holds or
    /// `timeoutSeconds` passed; returns whether it held.
    static func poll(timeoutSeconds: Double, interval: Double = 0.01, until condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        while true {
            if condition() { return true }
            if Date() >= deadline { return false }
            usleep(useconds_t(interval * 1_000_000))
        }
    }
}

/// The daemon process and the control thread that spawned it and waits for
/// it. The process id is signalled only while the process is known not to be
/// reaped (under the lock), so a recycled pid is never hit.
private final class Daemon: Sendable {
    private struct State {
        var pid: pid_t = 0
        var spawnError: Int32 = 0
        var spawned = false
        var exited = false
    }
    private let state = Mutex(State())

    var processIdentifier: pid_t { state.withLock { $0.pid } }
    var hasExited: Bool { state.withLock { $0.exited } }

    static func spawn(_ arguments: [String], environment: [String: String], logPath: String) throws -> Daemon {
        let daemon = Daemon()
        let thread = Thread { daemon.spawnAndReap(arguments, environment: environment, logPath: logPath) }
        thread.name = "pipewire reaper"
        thread.start()
        _ = PipeWireServerProcess.poll(timeoutSeconds: 10) { daemon.state.withLock { $0.spawned } }
        let (spawned, code) = daemon.state.withLock { ($0.spawned, $0.spawnError) }
        guard spawned, code == 0 else { throw PipeWireServerProcess.StartError.spawnFailed(errno: spawned ? code : ETIMEDOUT) }
        return daemon
    }

    /// Runs on the reaper thread: PR_SET_PDEATHSIG (set by setpriv) fires when
    /// this thread ends, and it ends only after the daemon has exited, or with
    /// the whole test process.
    private func spawnAndReap(_ arguments: [String], environment: [String: String], logPath: String) {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var cArguments: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        var cEnvironment: [UnsafeMutablePointer<CChar>?] = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (cArguments + cEnvironment).forEach { free($0) } }
        var pid: pid_t = 0
        let code = withFreshSignalState { posix_spawn(&pid, arguments[0], &actions, $0, &cArguments, &cEnvironment) }
        state.withLock {
            $0.pid = code == 0 ? pid : 0
            $0.spawnError = code
            $0.spawned = true
            $0.exited = code != 0
        }
        guard code == 0 else { return }
        // Wait without reaping, then reap under the lock.
        var info = siginfo_t()
        while waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) != 0 && errno == EINTR {}
        state.withLock {
            var status: Int32 = 0
            waitpid(pid, &status, 0)
            $0.exited = true
        }
    }

    /// SIGTERM, then SIGKILL after `graceSeconds`, then waits (bounded).
    func stop(graceSeconds: Double) {
        func signal(_ number: Int32) {
            state.withLock { if !$0.exited && $0.pid > 0 { kill($0.pid, number) } }
        }
        signal(SIGTERM)
        if PipeWireServerProcess.poll(timeoutSeconds: graceSeconds, until: { hasExited }) { return }
        signal(SIGKILL)
        _ = PipeWireServerProcess.poll(timeoutSeconds: 5) { hasExited }
    }
}
