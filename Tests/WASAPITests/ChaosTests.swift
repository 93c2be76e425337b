import Foundation
import JackEngine
import JackTestSupport
import PCM
import Realtime
import SimulatedEngine
import Synchronization
import Testing
import WASAPI

/// Issue 14: random API calls from several threads and processes while the
/// server is killed (SIGKILL) and started again at random moments.
///
/// Invariants: no crash (the children must exit 0), no call blocks longer
/// than 2 s (each call is timed, and a watchdog flags one still running:
/// ``ChaosLedger/hangBound``), every failure is an `AudioError` with a documented HRESULT (the codes
/// seen are counted and printed), the command-line tool run against the
/// dying server exits 0 or 1 with one error line, and a counter stream on
/// another server, never killed, loses no frame.
///
/// Length: `WASAPI_JACK_CHAOS_SECONDS` (default 45 s of chaos; about a
/// minute in all). A chaos child whose process can no longer reach JACK's
/// metadata (a killed jackd died holding a lock of the database) opens no
/// client again, so it stops early and a fresh child takes over for the
/// time left; so does one that initializes no stream for 20 s
/// (``ChaosLedger/streamlessBound``). Each child prints its own figures. Seed: `WASAPI_JACK_CHAOS_SEED` (default random); each run
/// prints it, so a failure can be replayed (the schedule between threads
/// still differs: the seed fixes each thread's choices, not their timing).
@Suite("Chaos: random calls while the server is killed and restarted", .timeLimit(.minutes(15)))
struct ChaosTests {
    /// Fixed names: jackd keeps a killed server's registry entry until a
    /// server of the same name starts, and the chaos child always starts it
    /// again. The steady server is never killed, but a crash of its child
    /// would take it down (PR_SET_PDEATHSIG): a fixed name is reclaimed by
    /// the next run.
    static let chaosServer = "wasapi-chaos-1"
    static let steadyServer = "wasapi-chaos-steady"

    /// Two processes at once: libjack talks to one server per process, so
    /// the killed server's clients (the chaos child and the command-line
    /// tools it runs) and the counter stream (its own child, on the steady
    /// server) never share a process.
    ///
    /// What it found, each fixed with a test of its own: a slot index reused
    /// while its previous slot was still being withdrawn (`SlotTableTests`);
    /// jackd2's close cancelling the notification thread inside our
    /// callbacks, a heap corruption (`NotificationGateTests`); SIGPIPE from
    /// libjack's writes to a dead server (`BrokenPipeTests`); and jackd2's
    /// metadata database, which keeps the locks of a process that died
    /// inside it, so calls waited for good (`MetadataAccessTests`,
    /// `MetadataWedgeTests`). Reading libjack for them showed the rest this
    /// test exercises: `jack_client_open` frees every client of the process
    /// once one was shut down (``ServerRegistry`` closes them first), and
    /// libjack's process thread outlives a killed server (``ProcessGraph``
    /// runs nothing after a shutdown).
    ///
    /// Runs when `WASAPI_JACK_CHAOS_SECONDS=N` is set: `scripts/test.sh`
    /// runs it for 45 s, last and alone, because a killed jackd can leave
    /// locks in the metadata database that every JACK process of the user
    /// shares. See docs/ARCHITECTURE.md, "When the server goes away".
    @Test("jackd killed and restarted at random under 4 API threads and 2 command-line tools; a counter on another server loses nothing (two child processes)",
          .enabled(if: ChaosSettings.secondsFromEnvironment != nil, "run alone: WASAPI_JACK_CHAOS_SECONDS=45 (scripts/test.sh does)"))
    func killAndRestartUnderLoad() async throws {
        let logs = ChaosSettings.makeLogDirectory()
        defer { rmdir(logs) }
        let end = ChaosSettings.setEnd(afterSeconds: ChaosSettings.secondsFromEnvironment ?? 45)
        try await withJackLibrary {
            async let chaos: Void = runChaosChildren(until: end, logs: logs)
            async let steady = #expect(processExitsWith: .success,
                                       "the steady child records lost frames as an issue") {
                // An error is a failure of the run, not a trap of the child.
                do { exitChild(try await steadyCounterChild()) } catch { exitChild(["the steady child stopped: \(error)"]) }
            }
            _ = await (chaos, steady)
            ChaosSettings.printChildLog("steady", in: logs)
        }
    }

    /// Chaos children one after another until `end`: a child whose process
    /// can no longer reach JACK's metadata (a killed jackd died holding a
    /// database lock, see ``MetadataAccess``) opens no client for the rest
    /// of its life, so it stops early and a fresh process takes over; so
    /// does one that initializes no stream for 20 s.
    private func runChaosChildren(until end: time_t, logs: String) async {
        var child = 0
        repeat {
            child += 1
            print("chaos child \(child)")
            await #expect(processExitsWith: .success, "the chaos child records each broken invariant as an issue") {
                exitChild(try await chaosChild())
            }
            ChaosSettings.printChildLog("chaos", in: logs)
        } while time(nil) < end - 5
    }

    @Test("simulated engine: 6 API threads, cycles on one thread, shutDown at random moments, a fresh engine afterwards")
    func simulatedShutdowns() throws {
        let seed = ChaosSettings.seed
        let seconds = ChaosSettings.secondsFromEnvironment ?? 5
        let ledger = ChaosLedger(label: "simulated", seed: seed)
        let holder = Mutex<(SimulatedAudioEngine, MMDeviceEnumerator)?>(nil)
        @Sendable func fresh() -> (SimulatedAudioEngine, MMDeviceEnumerator) {
            let sim = SimulatedAudioEngine()
            return (sim, MMDeviceEnumerator(engine: sim))
        }
        holder.withLock { $0 = fresh() }
        let stop = Atomic(false)
        let deadline = ContinuousClock.now + .seconds(seconds)
        let watchdog = Watchdog(ledger: ledger, cleanUp: {})
        // The engine's process thread: one thread for every engine's whole life.
        let driver = Thread {
            var random = SeededGenerator(seed: seed ^ 0xC0FFEE)
            var shutDownAt = ContinuousClock.now + .milliseconds(Int.random(in: 100...800, using: &random))
            while !stop.load(ordering: .acquiring) {
                let (sim, _) = holder.withLock { $0! }
                sim.runCycles(1)
                if ContinuousClock.now >= shutDownAt {
                    sim.shutDown()
                    ledger.noteKill()
                    usleep(UInt32.random(in: 0...50_000, using: &random))
                    holder.withLock { $0 = fresh() }
                    ledger.noteRestart()
                    shutDownAt = ContinuousClock.now + .milliseconds(Int.random(in: 100...800, using: &random))
                }
                usleep(UInt32.random(in: 0...300, using: &random))
            }
        }
        driver.start()
        let workers = (0..<6).map { index in
            ChaosWorker(index: index, seed: seed &+ UInt64(index + 1) &* 0x9E37_79B9, ledger: ledger, watchdog: watchdog,
                        pauseMicroseconds: 0...200, openEnumerator: { holder.withLock { $0!.1 } })
        }
        let threads = workers.map { worker in Thread { worker.run(until: ChaosEnd(deadline)) } }
        threads.forEach { $0.start() }
        while workers.contains(where: { !$0.finished.load(ordering: .acquiring) }) && ContinuousClock.now < deadline + .seconds(30) {
            usleep(20_000)
        }
        stop.store(true, ordering: .releasing)
        watchdog.stop()
        let unfinished = workers.filter { !$0.finished.load(ordering: .acquiring) }.count
        #expect(unfinished == 0, "\(unfinished) worker threads still running 30 s after the deadline")
        print(ledger.report(seconds: seconds))
        for failure in ledger.failures { Issue.record("\(failure)") }
        #expect(ledger.operations > 0)
    }
}

// MARK: The chaos child (a real jackd, killed)

/// The server under chaos: killed at random (0.5 to 3 s apart), started
/// again under the same name after a random pause (0.1 to 1.5 s).
private final class KilledServer: @unchecked Sendable {
    let name: String
    private let server = Mutex<JackServerProcess?>(nil)
    private let ledger: ChaosLedger

    init(name: String, ledger: ChaosLedger) throws {
        self.name = name
        self.ledger = ledger
        try server.withLock { $0 = try JackServerProcess.start(.init(name: name)) }
    }

    func crash() {
        server.withLock { $0?.crash(); $0 = nil }
        ledger.noteKill()
    }

    /// Starts it again (a few tries); false if it would not start.
    @discardableResult
    func restart() -> Bool {
        for attempt in 1...3 {
            do {
                let started = try JackServerProcess.start(.init(name: name))
                server.withLock { $0 = started }
                ledger.noteRestart()
                return true
            } catch {
                ledger.fail("restart \(attempt) of \(name) failed: \(error)")
            }
        }
        return false
    }

    var isRunning: Bool { server.withLock { $0 != nil } }

    /// Stops it cleanly (after starting it again if it is down, so jackd's
    /// registry keeps no entry of a killed server).
    func finish() {
        if !isRunning { restart() }
        server.withLock { $0?.stop(); $0 = nil }
    }
}

private func chaosChild() async throws -> [String] {
    ChaosSettings.redirectOutput("chaos")
    let seed = ChaosSettings.seed
    let seconds = ChaosSettings.secondsLeft
    let ledger = ChaosLedger(label: "jackd chaos", seed: seed)
    print("chaos seed \(seed) (replay: WASAPI_JACK_CHAOS_SEED=\(seed)), up to \(seconds) s")
    fflush(nil)
    let server = try KilledServer(name: ChaosTests.chaosServer, ledger: ledger)
    let watchdog = Watchdog(ledger: ledger, cleanUp: { server.finish() })
    let started = ContinuousClock.now
    let end = ChaosEnd(started + .seconds(seconds))

    let killer = Thread {
        var random = SeededGenerator(seed: seed ^ 0xDEAD)
        while !end.isPast {
            usleep(UInt32.random(in: 500_000...3_000_000, using: &random))
            guard !end.isPast else { break }
            watchdog.begin(-1, "kill the server")
            server.crash()
            watchdog.end(-1)
            usleep(UInt32.random(in: 100_000...1_500_000, using: &random))
            watchdog.begin(-1, "start the server again")
            defer { watchdog.end(-1) }
            guard server.restart() else { break }
        }
    }
    let workers = (0..<4).map { index in
        ChaosWorker(index: index, seed: seed &+ UInt64(index + 1) &* 0x9E37_79B9, ledger: ledger, watchdog: watchdog,
                    pauseMicroseconds: 0...5_000,
                    openEnumerator: { () throws(AudioError) in try MMDeviceEnumerator(serverName: ChaosTests.chaosServer) })
    }
    let tools = (0..<2).map { ToolRunner(index: $0, seed: seed &+ 0x5151 &* UInt64($0 + 1), ledger: ledger) }
    let threads = [killer] + workers.map { worker in Thread { worker.run(until: end) } }
        + tools.map { tool in Thread { tool.run(until: end) } }
    threads.forEach { $0.start() }

    // Every worker and tool ends by itself within the bound, or the watchdog ends the child.
    var stuckSince: ContinuousClock.Instant?
    var lastInitialize = (count: 0, at: ContinuousClock.now)
    while (workers.contains { !$0.finished.load(ordering: .acquiring) } || tools.contains { !$0.finished.load(ordering: .acquiring) })
            && ContinuousClock.now < end.instant + .seconds(60) {
        if JackClient.isHeldInMetadataDatabase {
            let since = stuckSince ?? .now
            stuckSince = since
            if ContinuousClock.now - since > .seconds(5) && !end.isPast {
                print("a metadata call has been stuck for 5 s (a killed jackd holds its lock): "
                      + "this process stops after \(ContinuousClock.now - started), a fresh one goes on")
                end.bringForward()
            }
        } else {
            stuckSince = nil
        }
        let initialized = ledger.initialized
        if initialized != lastInitialize.count {
            lastInitialize = (initialized, .now)
        } else if ContinuousClock.now - lastInitialize.at > ChaosLedger.streamlessBound && !end.isPast {
            print("no stream initialized for \(ChaosLedger.streamlessBound) (most likely a libjack lock orphaned in this "
                  + "process, see docs/ARCHITECTURE.md): this process stops after \(ContinuousClock.now - started), "
                  + "a fresh one goes on")
            end.bringForward()
        }
        try await pause(for: .milliseconds(50))
    }
    if workers.contains(where: { !$0.finished.load(ordering: .acquiring) }) || tools.contains(where: { !$0.finished.load(ordering: .acquiring) }) {
        ledger.fail("a worker or tool thread was still running 60 s after the deadline")
    }
    try await pause(for: .seconds(3.5))  // the killer's last pause
    watchdog.stop()
    server.finish()
    let ran = Int((end.instant - started).components.seconds)
    print(ledger.report(seconds: ran))
    fflush(nil)
    return ledger.failures
}

// MARK: The steady child (a counter on a server never killed)

/// An event-driven float stream plays a counter (left 1, 2, 3, ..., wrapping
/// before 2^23 so every value is exact in a float; right the negative), and
/// a loopback capture in the same JACK client records it (so a late cycle
/// of another client cannot hide a loss). Checked as it arrives: every frame
/// written arrives once, in order. Silence between values (the feeder late
/// on a loaded machine: an underrun) loses nothing and is only reported.
private func steadyCounterChild() async throws -> [String] {
    ChaosSettings.redirectOutput("steady")
    let seconds = ChaosSettings.secondsFromEnvironment ?? 45
    var failures: [String] = []
    let server = try JackServerProcess.start(.init(name: ChaosTests.steadyServer))
    defer { server.stop() }
    // jackd2's libjack can fail an open (JackServerError) while another
    // server of the user starts or dies, as the chaos child's does now: a
    // few tries, as an application would.
    let enumerator = try openWithRetries(serverName: server.name)
    let device = try enumerator.getDefaultAudioEndpoint(.render, role: .console)
    let (client, render, event, loopback, capture) = try eventRenderWithLoopback(on: device, bufferDuration: 1_000_000)
    let mix = try client.getMixFormat()
    guard mix.channels == 2, mix.bitsPerSample == 32 else { return ["unexpected mix format \(mix)"] }
    let bufferFrames = try client.getBufferSize()
    try loopback.start()

    let written = Atomic<Int>(0)
    let feeding = Atomic(true)
    let feederDone = Atomic(false)
    let cycle = 1 << 23
    let feeder = Thread {
        var next = 0
        while feeding.load(ordering: .acquiring) {
            guard event.wait(timeoutMilliseconds: 2000) == .signaled, let padding = try? client.getCurrentPadding() else { continue }
            let frames = bufferFrames - padding
            guard frames > 0, let buffer = try? render.getBuffer(frames: frames) else { continue }
            let samples = buffer.bindMemory(to: Float.self)
            for index in 0..<frames {
                let value = Float(next % cycle + 1)
                samples[2 * index] = value
                samples[2 * index + 1] = -value
                next += 1
            }
            if (try? render.releaseBuffer(frames: frames)) != nil { written.store(next, ordering: .releasing) }
        }
        feederDone.store(true, ordering: .releasing)
    }
    try client.start()
    feeder.start()

    var expected = 1, received = 0, mismatches = 0, silentFrames = 0, started = false, packets = 0, discontinuities = 0
    var pendingSilence = 0
    func drain() throws {
        while let packet = try capture.getBuffer() {
            if packet.flags.contains(.dataDiscontinuity) && packets > 0 { discontinuities += 1 }
            packets += 1
            let samples = packet.data.bindMemory(to: Float.self)
            for index in 0..<packet.frames {
                let left = samples[2 * index], right = samples[2 * index + 1]
                if left == 0 && right == 0 {
                    if started { pendingSilence += 1 }
                    continue
                }
                started = true
                silentFrames += pendingSilence
                pendingSilence = 0
                if left == Float(expected) && right == -left {
                    received += 1
                } else {
                    mismatches += 1
                }
                // A value that is no counter (not a whole number) counts as a
                // mismatch, and the next frame is checked against what follows it.
                expected = Int(exactly: left).map { $0 % cycle + 1 } ?? expected + 1
            }
            try capture.releaseBuffer(frames: packet.frames)
        }
    }
    let deadline = ContinuousClock.now + .seconds(seconds)
    while ContinuousClock.now < deadline {
        try drain()
        try await pause(for: .milliseconds(20))
    }
    feeding.store(false, ordering: .releasing)
    let drainDeadline = ContinuousClock.now + .seconds(10)
    while (!feederDone.load(ordering: .acquiring) || received + mismatches < written.load(ordering: .acquiring))
            && ContinuousClock.now < drainDeadline {
        try drain()
        try await pause(for: .milliseconds(20))
    }
    _ = try client.stop()
    _ = try loopback.stop()
    let total = written.load(ordering: .acquiring)
    let lost = total - received
    print("steady counter on \(server.name): \(total) frames written, \(received) received in order, \(lost) lost, "
          + "\(mismatches) out of order, \(silentFrames) silent frames between values (render underruns), "
          + "\(discontinuities) capture discontinuities after the first packet, \(device.xrunCount) xruns")
    fflush(nil)
    if total < seconds * 48_000 / 2 { failures.append("only \(total) frames written in \(seconds) s") }
    if lost != 0 { failures.append("\(lost) of \(total) counter frames lost") }
    if mismatches != 0 { failures.append("\(mismatches) counter frames out of order or corrupt") }
    if discontinuities != 0 { failures.append("\(discontinuities) capture overruns") }
    return failures
}

/// An enumerator on `serverName`, after up to 20 tries 1 s apart: an open
/// or close that outlasted its bound (``JackClient``'s `BoundedOpenClose`:
/// 1.5 s, on a machine loaded by the chaos child starting beside it) makes
/// the process's next opens fail at once until it returns.
private func openWithRetries(serverName: String) throws(AudioError) -> MMDeviceEnumerator {
    var attempt = 1
    while true {
        do {
            return try MMDeviceEnumerator(serverName: serverName)
        } catch {
            guard attempt < 20 else { throw error }
            print("steady: open \(attempt) failed (\(error)); trying again")
            attempt += 1
            usleep(1_000_000)
        }
    }
}

// MARK: Settings

/// When a chaos child's work ends: at its deadline, or earlier when brought forward.
final class ChaosEnd: Sendable {
    private let when: Mutex<ContinuousClock.Instant>
    init(_ instant: ContinuousClock.Instant) { when = Mutex(instant) }
    var instant: ContinuousClock.Instant { when.withLock { $0 } }
    var isPast: Bool { ContinuousClock.now >= instant }
    func bringForward() { when.withLock { $0 = min($0, .now) } }
}

enum ChaosSettings {
    /// The wall-clock second (`time(2)`) the whole run ends, set by the
    /// parent before its children start (a child may start late: see
    /// `runChaosChildren`).
    static let endVariable = "WASAPI_JACK_CHAOS_END"

    static func setEnd(afterSeconds seconds: Int) -> time_t {
        let end = time(nil) + seconds
        setenv(endVariable, String(end), 1)
        return end
    }

    /// A child's seconds of chaos: up to the run's end (at least 1).
    static var secondsLeft: Int {
        let end = ProcessInfo.processInfo.environment[endVariable].flatMap { Int($0) }
        return end.map { max(1, $0 - time(nil)) } ?? secondsFromEnvironment ?? 45
    }

    /// Prints a child's log (crash reports included) and removes it, so
    /// that the next child of that role can create it afresh.
    static func printChildLog(_ role: String, in directory: String) {
        let path = childLogPath(role, in: directory)
        if let data = FileManager.default.contents(atPath: path) {
            print(String(decoding: data, as: UTF8.self).suffix(30_000))
        } else {
            print("(no \(role) log)")
        }
        unlink(path)
    }

    static var secondsFromEnvironment: Int? {
        ProcessInfo.processInfo.environment["WASAPI_JACK_CHAOS_SECONDS"].flatMap { Int($0) }.map { max(1, $0) }
    }

    /// The private directory (mkdtemp, 0700) the children's logs go to,
    /// made by the parent and passed down in the environment.
    static let logDirectoryVariable = "WASAPI_JACK_CHAOS_LOGS"

    /// Makes the directory and tells the children (the parent, before it starts them).
    static func makeLogDirectory() -> String {
        let directory = makeTemporaryDirectory(prefix: "wasapi-chaos-logs")
        setenv(logDirectoryVariable, directory, 1)
        return directory
    }

    /// Where a child's standard output and error go, so the parent can show
    /// them whatever the child's end (an exit test returns its output only
    /// when its expectation holds; a crash report is what matters most).
    static func childLogPath(_ role: String, in directory: String) -> String { "\(directory)/\(role).log" }

    /// In a child: standard output and error into its log file (created
    /// new, never through a symbolic link).
    static func redirectOutput(_ role: String) {
        guard let directory = getenv(logDirectoryVariable).map({ String(cString: $0) }) else { return }
        let descriptor = open(childLogPath(role, in: directory),
                              O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { return }
        fflush(nil)
        dup2(descriptor, 1)
        dup2(descriptor, 2)
        close(descriptor)
    }

    /// `WASAPI_JACK_CHAOS_SEED`, or a new one each run.
    static var seed: UInt64 {
        ProcessInfo.processInfo.environment["WASAPI_JACK_CHAOS_SEED"].flatMap { UInt64($0) } ?? UInt64.random(in: 1...UInt64.max)
    }
}

// MARK: Counting

/// What a chaos run saw: operations, kills, HRESULTs, broken invariants.
final class ChaosLedger: Sendable {
    struct Counts {
        var operations = 0
        /// Initialize calls that succeeded (reported: a run whose server was
        /// never usable tests nothing).
        var initialized = 0
        var kills = 0
        var restarts = 0
        var codes: [String: Int] = [:]
        var failures: [String] = []
        var slowest: (name: String, duration: Duration) = ("", .zero)
        var toolRuns = 0
        var toolStatuses: [Int32: Int] = [:]
        var toolErrors: [String: Int] = [:]
    }

    let label: String
    let seed: UInt64
    private let counts = Mutex(Counts())

    /// A call this long is a hang, and fails the run: issue 14's bound.
    let hangBound: Duration = .seconds(2)

    init(label: String, seed: UInt64) {
        self.label = label
        self.seed = seed
    }

    func fail(_ failure: String) {
        counts.withLock { if $0.failures.count < 100 { $0.failures.append("[seed \(seed)] \(failure)") } }
    }

    func noteKill() { counts.withLock { $0.kills += 1 } }
    func noteRestart() { counts.withLock { $0.restarts += 1 } }

    func noteCall(_ name: String, took duration: Duration, error: AudioError?) {
        counts.withLock { counts in
            counts.operations += 1
            if duration > counts.slowest.duration { counts.slowest = (name, duration) }
            if let error { counts.codes[Self.name(of: error.code), default: 0] += 1 }
            if error == nil && name.hasPrefix("Initialize") { counts.initialized += 1 }
        }
        if duration > hangBound { fail("\(name) took \(duration) (over \(hangBound))") }
        if let error, !Self.isDocumented(error.code) { fail("\(name) failed with an undocumented code: \(error)") }
    }

    func noteTool(status: Int32, errorLine: String?) {
        counts.withLock { counts in
            counts.toolRuns += 1
            counts.toolStatuses[status, default: 0] += 1
            if let errorLine {
                // The HRESULT named in the line, else its first words.
                let key = errorLine.split(separator: " ").first { $0.contains("AUDCLNT_E_") || $0.hasPrefix("E_") }
                    .map { String($0.drop { $0 == "[" || $0 == "(" }) } ?? String(errorLine.prefix(60))
                counts.toolErrors[key, default: 0] += 1
            }
        }
    }

    /// A failure code the API documents: one of the named HRESULT constants.
    static func isDocumented(_ code: HRESULT) -> Bool { !code.isSuccess && !code.description.hasPrefix("0x") }

    static func name(of code: HRESULT) -> String { String(code.description.prefix { $0 != " " }) }

    var failures: [String] { counts.withLock { $0.failures } }
    var operations: Int { counts.withLock { $0.operations } }
    var initialized: Int { counts.withLock { $0.initialized } }

    /// A chaos child that initializes no stream for this long hands over to
    /// a fresh process. Several a second is the usual rate; a process whose
    /// every open holds jackd for its client timeout (a libjack lock
    /// orphaned by a cancelled thread) never initializes one again, and
    /// would test nothing for the rest of the run.
    static let streamlessBound: Duration = .seconds(20)

    func report(seconds: Int) -> String {
        counts.withLock { counts in
            let codes = counts.codes.sorted { $0.value > $1.value }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            var lines = ["\(label): seed \(seed), \(seconds) s: \(counts.operations) API calls, \(counts.kills) kills, "
                         + "\(counts.restarts) restarts, \(counts.initialized) streams initialized, "
                         + "\(counts.failures.count) broken invariants; slowest call "
                         + "\(counts.slowest.name) \(counts.slowest.duration)",
                         "  HRESULTs seen: \(codes.isEmpty ? "none" : codes)"]
            if counts.toolRuns > 0 {
                let statuses = counts.toolStatuses.sorted { $0.key < $1.key }.map { "status \($0.key): \($0.value)" }
                let errors = counts.toolErrors.sorted { $0.value > $1.value }.map { "\($0.key) \($0.value)" }
                lines.append("  command-line runs: \(counts.toolRuns) (\(statuses.joined(separator: ", "))); errors: \(errors.joined(separator: ", "))")
            }
            lines += counts.failures.prefix(20).map { "  FAILURE \($0)" }
            return lines.joined(separator: "\n")
        }
    }
}

/// Flags a call still running after ``ChaosLedger/hangBound`` (once per
/// call), and ends the process after 60 s of one call (stopping the server
/// cleanly first), so a hang cannot hang the suite.
final class Watchdog: Sendable {
    private let calls = Mutex<[Int: (name: String, since: ContinuousClock.Instant, flagged: Bool)]>([:])
    private let stopped = Atomic(false)

    init(ledger: ChaosLedger, cleanUp: @escaping @Sendable () -> Void) {
        let thread = Thread { [self] in
            while !stopped.load(ordering: .acquiring) {
                usleep(100_000)
                let now = ContinuousClock.now
                var fatal: String?
                calls.withLock { calls in
                    for (worker, call) in calls {
                        // Worker -1 is the server's killer: starting jackd is not an API call.
                        if worker >= 0 && now - call.since > ledger.hangBound && !call.flagged {
                            ledger.fail("worker \(worker): \(call.name) blocked over \(ledger.hangBound)")
                            calls[worker]?.flagged = true
                        }
                        if now - call.since > .seconds(60) { fatal = "worker \(worker): \(call.name) blocked over 60 s" }
                    }
                }
                if let fatal {
                    print("HANG: \(fatal); ending the process")
                    print(ledger.report(seconds: 0))
                    fflush(nil)
                    // The clean-up may itself wait on what hangs: it gets 35 s.
                    let cleaned = Atomic(false)
                    Thread { cleanUp(); cleaned.store(true, ordering: .releasing) }.start()
                    for _ in 0..<350 where !cleaned.load(ordering: .acquiring) { usleep(100_000) }
                    // A crash, not an exit: Swift's backtracer (SWIFT_BACKTRACE)
                    // then shows where every thread is waiting.
                    abort()
                }
            }
        }
        thread.name = "chaos watchdog"
        thread.start()
    }

    func begin(_ worker: Int, _ name: String) { calls.withLock { $0[worker] = (name, .now, false) } }
    func end(_ worker: Int) { _ = calls.withLock { $0.removeValue(forKey: worker) } }
    func stop() { stopped.store(true, ordering: .releasing) }
}

// MARK: A worker: random calls on its own objects

final class ChaosWorker: @unchecked Sendable {
    let index: Int
    let ledger: ChaosLedger
    let watchdog: Watchdog
    let finished = Atomic(false)
    private var random: SeededGenerator
    private let pause: ClosedRange<UInt32>
    private let openEnumerator: () throws(AudioError) -> MMDeviceEnumerator

    // This thread's objects, recreated after the device or the service went away.
    private var enumerator: MMDeviceEnumerator?
    private var device: MMDevice?
    private var client: AudioClient?
    private var isInitialized = false
    private var render: AudioRenderClient?
    private var capture: AudioCaptureClient?
    private var heldRenderFrames: Int?
    private var heldPacket: Int?
    private var event: RealtimeEvent?
    private var listener: ChaosListener?
    private var sessionControl: AudioSessionControl?
    private var sessionEvents: ChaosListener?
    private var lastError: AudioError?

    init(index: Int, seed: UInt64, ledger: ChaosLedger, watchdog: Watchdog, pauseMicroseconds: ClosedRange<UInt32>,
         openEnumerator: @escaping () throws(AudioError) -> MMDeviceEnumerator) {
        self.index = index
        self.ledger = ledger
        self.watchdog = watchdog
        self.random = SeededGenerator(seed: seed)
        self.pause = pauseMicroseconds
        self.openEnumerator = openEnumerator
    }

    func run(until end: ChaosEnd) {
        while !end.isPast {
            step()
            if let code = lastError?.code, code == .AUDCLNT_E_DEVICE_INVALIDATED || code == .AUDCLNT_E_SERVICE_NOT_RUNNING {
                // As an application does: release everything and start over.
                dropAll(enumeratorToo: code == .AUDCLNT_E_SERVICE_NOT_RUNNING || Bool.random(using: &random))
            }
            lastError = nil
            usleep(UInt32.random(in: pause, using: &random))
        }
        dropAll(enumeratorToo: true)
        finished.store(true, ordering: .releasing)
    }

    /// Times one call; a thrown `AudioError` is counted (and checked) and gives nil.
    @discardableResult
    private func call<T>(_ name: String, _ body: () throws(AudioError) -> T) -> T? {
        watchdog.begin(index, name)
        let start = ContinuousClock.now
        defer { watchdog.end(index) }
        do {
            let result = try body()
            ledger.noteCall(name, took: ContinuousClock.now - start, error: nil)
            return result
        } catch {
            ledger.noteCall(name, took: ContinuousClock.now - start, error: error)
            lastError = error
            return nil
        }
    }

    /// Lets go of the stream and its services (their deinits run here, maybe on a dead server).
    private func dropStream() {
        render = nil
        capture = nil
        heldRenderFrames = nil
        heldPacket = nil
        client = nil
        isInitialized = false
    }

    private func dropAll(enumeratorToo: Bool) {
        call("release objects") { () throws(AudioError) in
            if let listener, let enumerator { try? enumerator.unregisterEndpointNotificationCallback(listener) }
            if let sessionEvents, let sessionControl { try? sessionControl.unregisterAudioSessionNotification(sessionEvents) }
            listener = nil
            sessionEvents = nil
            sessionControl = nil
            dropStream()
            event = nil
            device = nil
            if enumeratorToo { enumerator = nil }
        }
    }

    private func randomFormat() -> WaveFormat {
        let formats: [SampleFormat] = [.uint8, .int16, .int24Packed, .int24In32, .int32, .float32]
        let rates = [8_000, 22_050, 44_100, 48_000, 48_000, 96_000, 192_000, 0, 1_000_000]
        let channels = [0, 1, 2, 2, 2, 3, 6, 8, 9]
        var format = WaveFormat(formats.randomElement(using: &random)!, sampleRate: rates.randomElement(using: &random)!,
                                channels: channels.randomElement(using: &random)!, extensible: Bool.random(using: &random))
        if Int.random(in: 0..<20, using: &random) == 0 { format.blockAlign &+= 1 }  // malformed: E_INVALIDARG
        return format
    }

    private func step() {
        // Build up objects when missing, most of the time; otherwise act on them.
        if enumerator == nil {
            enumerator = call("MMDeviceEnumerator()") { () throws(AudioError) in try openEnumerator() }
            return
        }
        guard let enumerator else { return }
        if device == nil || Int.random(in: 0..<50, using: &random) == 0 {
            let flow: DataFlow = Bool.random(using: &random) ? .render : .capture
            device = call("GetDefaultAudioEndpoint(\(flow))") { () throws(AudioError) in
                try enumerator.getDefaultAudioEndpoint(flow, role: Role.allCases.randomElement(using: &random)!)
            }
            // No default endpoint: an enumerator of a server that went away keeps
            // its endpoints not present; an application opens a new one.
            if lastError?.code == .E_NOTFOUND { self.enumerator = nil }
            return
        }
        guard let device else { return }
        switch Int.random(in: 0..<24, using: &random) {
        case 0:
            call("EnumAudioEndpoints") { () throws(AudioError) in
                for found in try enumerator.enumAudioEndpoints(.all, stateMask: .all) { _ = (found.state, found.friendlyName, found.channelCount) }
            }
        case 1:
            if let listener {
                call("UnregisterEndpointNotificationCallback") { () throws(AudioError) in try enumerator.unregisterEndpointNotificationCallback(listener) }
                self.listener = nil
            } else {
                let listener = ChaosListener()
                call("RegisterEndpointNotificationCallback") { () throws(AudioError) in enumerator.registerEndpointNotificationCallback(listener) }
                self.listener = listener
            }
        case 2, 3:
            client = call("Activate(IAudioClient)") { () throws(AudioError) in try device.activateAudioClient() }
            isInitialized = false
            render = nil
            capture = nil
            heldRenderFrames = nil
            heldPacket = nil
        case 4, 5:
            guard let client else { return }
            let exclusive = Int.random(in: 0..<6, using: &random) == 0
            var flags: StreamFlags = []
            for flag in [StreamFlags.eventCallback, .autoConvertPCM, .autoConvertPCM, .srcDefaultQuality, .rateAdjust]
            where Bool.random(using: &random) { flags.insert(flag) }
            if Int.random(in: 0..<8, using: &random) == 0 { flags.insert(.loopback) }
            if Int.random(in: 0..<30, using: &random) == 0 { flags.insert(StreamFlags(rawValue: 0x4)) }  // unknown
            let durations: [ReferenceTime] = [0, 30_000, 100_000, 200_000, 1_000_000, 2_000_000, 300_000_000]
            let duration = durations.randomElement(using: &random)!
            let useMix = Int.random(in: 0..<3, using: &random) == 0
            let format = useMix ? ((try? client.getMixFormat()) ?? randomFormat()) : randomFormat()
            let periodicity: ReferenceTime = exclusive && flags.contains(.eventCallback) ? duration : 0
            if call("Initialize(\(exclusive ? "exclusive" : "shared"), \(format.samplesPerSecond) Hz, \(format.channels) ch)", { () throws(AudioError) in
                try client.initialize(shareMode: exclusive ? .exclusive : .shared, streamFlags: flags, bufferDuration: duration,
                                      periodicity: periodicity, format: format)
            }) != nil {
                isInitialized = true
            }
        case 6:
            guard let client else { return }
            if Bool.random(using: &random) {
                let event = (try? RealtimeEvent())
                if let event { call("SetEventHandle") { () throws(AudioError) in try client.setEventHandle(event) } }
                self.event = event
            } else {
                call("Start") { () throws(AudioError) in try client.start() }
            }
        case 7:
            guard let client else { return }
            call("Stop") { () throws(AudioError) in _ = try client.stop() }
        case 8:
            guard let client else { return }
            call("Reset") { () throws(AudioError) in _ = try client.reset() }
        case 9, 10, 11:
            guard let client else { return }
            if render == nil && capture == nil {
                if let found = call("GetService(IAudioRenderClient)", { () throws(AudioError) in try client.getRenderClient() }) {
                    render = found
                } else {
                    capture = call("GetService(IAudioCaptureClient)") { () throws(AudioError) in try client.getCaptureClient() }
                }
                return
            }
            if let render { renderStep(client, render) }
            if let capture { captureStep(capture) }
        case 12:
            guard let client else { return }
            call("GetCurrentPadding") { () throws(AudioError) in _ = try client.getCurrentPadding() }
            call("GetStreamLatency") { () throws(AudioError) in _ = try client.getStreamLatency() }
            call("GetDevicePeriod") { () throws(AudioError) in _ = try client.getDevicePeriod() }
            call("IAudioClock::GetPosition") { () throws(AudioError) in _ = try client.getClock().getPosition() }
        case 13:
            guard let client else { return }
            let level = Float.random(in: -0.1...1.1, using: &random)
            call("IAudioStreamVolume::SetAllVolumes") { () throws(AudioError) in
                let volume = try client.getStreamVolume()
                try volume.setAllVolumes(Array(repeating: level, count: try volume.getChannelCount()))
            }
        case 14:
            guard let client else { return }
            let level = Float.random(in: -0.1...1.1, using: &random)
            let mute = Bool.random(using: &random)
            // Each API call is timed on its own: the 2 s bound is per call.
            guard let volume = call("IAudioClient::GetService(ISimpleAudioVolume)", { () throws(AudioError) in
                try client.getSimpleAudioVolume()
            }) else { return }
            guard call("ISimpleAudioVolume::SetMasterVolume", { () throws(AudioError) in try volume.setMasterVolume(level) }) != nil
            else { return }
            call("ISimpleAudioVolume::SetMute") { () throws(AudioError) in try volume.setMute(mute) }
        case 15:
            guard let client else { return }
            if let sessionEvents, let sessionControl {
                call("UnregisterAudioSessionNotification") { () throws(AudioError) in try sessionControl.unregisterAudioSessionNotification(sessionEvents) }
                self.sessionEvents = nil
                self.sessionControl = nil
            } else {
                let events = ChaosListener()
                let name = "chaos-\(index)-\(Int.random(in: 0..<100, using: &random))"
                call("IAudioSessionControl (display name, notification)") { () throws(AudioError) in
                    let control = try client.getSessionControl()
                    try control.setDisplayName(name)
                    try control.registerAudioSessionNotification(events)
                    self.sessionControl = control
                    self.sessionEvents = events
                }
            }
        case 16:
            let pick = Int.random(in: 0..<8, using: &random)
            let picked = call("IAudioSessionManager2 enumeration") { () throws(AudioError) -> AudioSessionControl? in
                let sessions = device.activateSessionManager().getSessionEnumerator()
                guard sessions.getCount() > 0 else { return nil }
                let control = try sessions.getSession(pick % sessions.getCount())
                _ = try (control.getState(), control.getDisplayName(), control.getProcessId())
                return control
            }
            guard let control = picked ?? nil else { return }
            call("ISimpleAudioVolume::SetMasterVolume (an enumerated session)") { () throws(AudioError) in
                try control.simpleAudioVolume().setMasterVolume(1)
            }
        case 17:
            let level = Float.random(in: -0.1...1.1, using: &random)
            let mute = Int.random(in: 0..<4, using: &random) == 0
            guard let volume = call("IMMDevice::Activate(IAudioEndpointVolume)", { () throws(AudioError) in
                try device.activateEndpointVolume()
            }) else { return }
            guard call("IAudioEndpointVolume::SetMasterVolumeLevelScalar", { () throws(AudioError) in
                try volume.setMasterVolumeLevelScalar(level)
            }) != nil else { return }
            guard call("IAudioEndpointVolume::SetMute", { () throws(AudioError) in try volume.setMute(mute) }) != nil else { return }
            call("IAudioMeterInformation::GetPeakValue") { () throws(AudioError) in
                _ = try device.activateMeterInformation().getPeakValue()
            }
        case 18:
            guard let client else { return }
            let format = randomFormat()
            call("IsFormatSupported") { () throws(AudioError) in _ = try client.isFormatSupported(.shared, format: format) }
        case 19:
            guard let event else { return }
            let timeout = Int.random(in: 0...50, using: &random)
            call("event wait \(timeout) ms") { () throws(AudioError) in _ = event.wait(timeoutMilliseconds: timeout) }
        case 20:
            // Let go of the stream (its deinit runs here, maybe on a dead server).
            call("release IAudioClient") { () throws(AudioError) in dropStream() }
        case 21:
            if Int.random(in: 0..<4, using: &random) == 0 { dropAll(enumeratorToo: true) }
        default:
            guard let client else { return }
            if let render { renderStep(client, render) }
            if let capture { captureStep(capture) }
        }
    }

    private func renderStep(_ client: AudioClient, _ render: AudioRenderClient) {
        if let held = heldRenderFrames {
            // Usually what was asked for, sometimes less, sometimes more (AUDCLNT_E_INVALID_SIZE).
            let frames = Int.random(in: 0..<10, using: &random) == 0 ? held + 1 : Int.random(in: 0...held, using: &random)
            let flags: BufferFlags = Bool.random(using: &random) ? .silent : []
            call("IAudioRenderClient::ReleaseBuffer(\(frames))") { () throws(AudioError) in try render.releaseBuffer(frames: frames, flags: flags) }
            heldRenderFrames = nil
            return
        }
        if Int.random(in: 0..<12, using: &random) == 0 {
            call("IAudioRenderClient::ReleaseBuffer without GetBuffer") { () throws(AudioError) in try render.releaseBuffer(frames: 1) }
            return
        }
        let size = (try? client.getBufferSize()) ?? 512
        let frames = Int.random(in: 0...(size + 64), using: &random)
        if let buffer = call("IAudioRenderClient::GetBuffer(\(frames))", { () throws(AudioError) in try render.getBuffer(frames: frames) }) {
            for index in 0..<buffer.count { buffer[index] = UInt8(truncatingIfNeeded: index &* 31) }
            heldRenderFrames = frames
        }
    }

    private func captureStep(_ capture: AudioCaptureClient) {
        if let held = heldPacket {
            let frames = Int.random(in: 0..<10, using: &random) == 0 ? held + 1 : held
            call("IAudioCaptureClient::ReleaseBuffer(\(frames))") { () throws(AudioError) in try capture.releaseBuffer(frames: frames) }
            heldPacket = nil
            return
        }
        call("IAudioCaptureClient::GetNextPacketSize") { () throws(AudioError) in _ = try capture.getNextPacketSize() }
        if let packet = call("IAudioCaptureClient::GetBuffer", { () throws(AudioError) in try capture.getBuffer() }), let packet {
            var sum: UInt8 = 0
            for byte in packet.data { sum &+= byte }
            _ = sum
            heldPacket = packet.frames
        }
    }
}

/// Endpoint and session notifications, counted and otherwise ignored.
final class ChaosListener: MMNotificationClient, AudioSessionEvents, @unchecked Sendable {
    let calls = Atomic<Int>(0)
    func onDeviceStateChanged(deviceID: String, newState: DeviceState) { calls.add(1, ordering: .relaxed) }
    func onDeviceAdded(deviceID: String) { calls.add(1, ordering: .relaxed) }
    func onDeviceRemoved(deviceID: String) { calls.add(1, ordering: .relaxed) }
    func onDefaultDeviceChanged(flow: DataFlow, role: Role, deviceID: String?) { calls.add(1, ordering: .relaxed) }
    func onPropertyValueChanged(deviceID: String, key: PropertyKey) { calls.add(1, ordering: .relaxed) }
    func onSessionDisconnected(_ reason: AudioSessionDisconnectReason) { calls.add(1, ordering: .relaxed) }
    func onStateChanged(_ state: AudioSessionState) { calls.add(1, ordering: .relaxed) }
}

// MARK: The command-line tool against the dying server

/// Runs `wasapi-jack` commands one after another against the chaos server:
/// each must exit within 30 s, with status 0, or 1 and exactly one
/// `wasapi-jack: error:` line; never a signal.
final class ToolRunner: @unchecked Sendable {
    let index: Int
    let ledger: ChaosLedger
    let finished = Atomic(false)
    private var random: SeededGenerator
    private let directory: String

    init(index: Int, seed: UInt64, ledger: ChaosLedger) {
        self.index = index
        self.ledger = ledger
        self.random = SeededGenerator(seed: seed)
        directory = makeTemporaryDirectory(prefix: "wasapi-chaos")
        if !FileManager.default.createFile(atPath: directory + "/tone.wav", contents: Data(Self.toneWAV(seconds: 0.5))) {
            ledger.fail("tool \(index): could not write \(directory)/tone.wav")
        }
    }

    func run(until end: ChaosEnd) {
        let server = ["--server", ChaosTests.chaosServer]
        while !end.isPast {
            let commands: [[String]] = [
                ["play"] + server + ["--mode", "shared", "--drive", Bool.random(using: &random) ? "event" : "timer", directory + "/tone.wav"],
                ["record"] + server + ["--seconds", "0.5", directory + "/out.wav"],
                ["record"] + server + ["--loopback", "--seconds", "0.3", directory + "/loop.wav"],
                ["sessions"] + server,
                ["devices"] + server,
                ["volume"] + server + ["chaos-\(Int.random(in: 0..<4, using: &random))-1", "0.5"],
                ["endpoint-volume"] + server + ["0.8"],
            ]
            let arguments = commands.randomElement(using: &random)!
            do {
                let process = try RunningProcess(arguments: arguments)
                let status = try process.waitForExit(timeoutSeconds: 30)
                let errorLines = process.standardError.split(separator: "\n").filter { $0.hasPrefix("wasapi-jack: error:") }
                ledger.noteTool(status: status, errorLine: errorLines.first.map(String.init))
                switch status {
                case 0: break
                case 1 where errorLines.count == 1: break
                default:
                    ledger.fail("`wasapi-jack \(arguments.joined(separator: " "))` ended with status \(status) "
                                + "(a signal, or not one error line): \(process.standardError.suffix(8000))")
                }
            } catch {
                ledger.fail("`wasapi-jack \(arguments.joined(separator: " "))`: \(error)")
            }
            usleep(UInt32.random(in: 0...300_000, using: &random))
        }
        try? FileManager.default.removeItem(atPath: directory)
        finished.store(true, ordering: .releasing)
    }

    /// 16-bit stereo 48 kHz, a quiet 440 Hz tone.
    static func toneWAV(seconds: Double) -> [UInt8] {
        let frames = Int(seconds * 48_000)
        var data: [UInt8] = []
        for frame in 0..<frames {
            let value = Int16(3000 * sin(2 * Double.pi * 440 * Double(frame) / 48_000))
            for _ in 0..<2 { withUnsafeBytes(of: value.littleEndian) { data += $0 } }
        }
        func le32(_ value: Int) -> [UInt8] { withUnsafeBytes(of: UInt32(value).littleEndian) { Array($0) } }
        func le16(_ value: Int) -> [UInt8] { withUnsafeBytes(of: UInt16(value).littleEndian) { Array($0) } }
        return Array("RIFF".utf8) + le32(36 + data.count) + Array("WAVEfmt ".utf8) + le32(16) + le16(1) + le16(2)
            + le32(48_000) + le32(48_000 * 4) + le16(4) + le16(16) + Array("data".utf8) + le32(data.count) + data
    }
}
