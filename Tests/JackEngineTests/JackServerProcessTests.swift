import AudioGraph
import Foundation
import JackEngine
import JackTestSupport
import Testing

@Suite("Private jackd fixture", .timeLimit(.minutes(15)))
struct JackServerProcessTests {
    @Test("a started server answers with the configured rate and period, and is gone after stop")
    func startAndStop() async throws {
        try await withJackLibrary {
        var configuration = JackServerProcess.Configuration(
            name: JackServerProcess.Configuration.uniqueName(prefix: "wasapi-test"))
        configuration.sampleRate = 44_100
        configuration.period = 128
        let server = try JackServerProcess.start(configuration)
        let client = try JackClient(name: "probe", serverName: server.name)
        #expect(client.sampleRate == 44_100)
        #expect(client.bufferSize == 128)
        #expect(client.portNames(flags: [.isPhysical, .isOutput]).count == 2)
        #expect(client.portNames(flags: [.isPhysical, .isInput]).count == 2)
        client.close()
        server.stop()
        #expect(throws: EngineError.self) { try JackClient(name: "after", serverName: server.name) }
        }
    }

    @Test("opening on a server that does not exist names the server and how to start it")
    func noServer() async throws {
        try await withJackLibrary {
        let name = JackServerProcess.Configuration.uniqueName(prefix: "wasapi-absent")
        let error = #expect(throws: EngineError.self) { try JackClient(name: "x", serverName: name) }
        guard case let .serverNotRunning(serverName, _)? = error else {
            Issue.record("expected serverNotRunning, got \(String(describing: error))")
            return
        }
        #expect(serverName == name)
        #expect(error!.description.contains("jackd -n \(name)"))
        }
    }

    @Test("the fixture's server has the dummy backend's physical ports")
    func fixtureDefaults() async throws {
        try await withJackServer { server in
            let client = try JackClient(name: "probe", serverName: server.name)
            defer { client.close() }
            #expect(client.sampleRate == 48_000)
            #expect(client.bufferSize == 64)
            #expect(client.portNames(flags: [.isPhysical, .isOutput]) == ["system:capture_1", "system:capture_2"])
            #expect(client.portNames(flags: [.isPhysical, .isInput]) == ["system:playback_1", "system:playback_2"])
        }
    }
}

@Suite("Private jackd: names, log directory, lifetime", .timeLimit(.minutes(15)))
struct JackServerProcessSafetyTests {
    @Test("a name with shell syntax is refused before anything runs, and no command in it runs")
    func hostileNameRefused() async throws {
        let directory = makeTemporaryDirectory(prefix: "wasapi-injection")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let marker = directory + "/injected"
        try await withJackLibrary {
            for name in ["x;touch \(marker) #", "x$(touch \(marker))", "x`touch \(marker)`", "x' ; touch \(marker) ; '"] {
                let error = #expect(throws: JackServerProcess.StartError.self) {
                    try JackServerProcess.start(JackServerProcess.Configuration(name: name), timeoutSeconds: 2)
                }
                guard case .invalidName? = error else {
                    Issue.record("expected invalidName for \(name), got \(String(describing: error))")
                    continue
                }
            }
        }
        usleep(300_000)  // a shell, had one been started, would have run by now
        #expect(!FileManager.default.fileExists(atPath: marker), "a command in the server name ran")
    }

    @Test("server names: [A-Za-z0-9._-], 1 to 64 characters, not '.', '..' or a leading '-'")
    func nameValidation() {
        for good in ["default", "wasapi-test-12-3", "a.b_c-D9", String(repeating: "x", count: 64)] {
            #expect(throws: Never.self) { try JackServerProcess.validateServerName(good) }
        }
        let bad: [(String, JackServerProcess.ServerNameError)] = [
            ("", .empty), (String(repeating: "x", count: 65), .tooLong(count: 65)),
            ("a/b", .forbiddenCharacter("/")), ("a b", .forbiddenCharacter(" ")),
            ("a\nb", .forbiddenCharacter("\n")), ("a\u{7f}", .forbiddenCharacter("\u{7f}")),
            ("a;b", .forbiddenCharacter(";")), ("é", .forbiddenCharacter("é")),
            ("-n", .forbiddenCharacter("-")), ("..", .forbiddenCharacter(".")),
        ]
        for (name, expected) in bad {
            #expect(throws: expected) { try JackServerProcess.validateServerName(name) }
        }
    }

    @Test("the log lives in a fresh 0700 directory of ours, which stop() removes")
    func privateLogDirectory() async throws {
        try await withJackServer { server in
            var info = stat()
            #expect(lstat(server.logDirectory, &info) == 0)
            #expect(info.st_mode & S_IFMT == S_IFDIR, "not a plain directory")
            #expect(info.st_mode & 0o777 == 0o700, "mode \(String(info.st_mode & 0o777, radix: 8))")
            #expect(info.st_uid == geteuid())
            #expect(server.logPath.hasPrefix(server.logDirectory + "/"))
            #expect(server.logDirectory != "/tmp" && !server.logPath.hasPrefix("/tmp/\(server.name)"))
            #expect(lstat(server.logPath, &info) == 0 && info.st_mode & S_IFMT == S_IFREG)
            #expect(info.st_mode & 0o077 == 0, "log mode \(String(info.st_mode & 0o777, radix: 8))")
            server.stop()
            #expect(!FileManager.default.fileExists(atPath: server.logPath))
            #expect(!FileManager.default.fileExists(atPath: server.logDirectory))
        }
    }

    // Disabled: not reliable. The tie works (jackd is sent SIGTERM the moment its parent dies,
    // and the test broke as expected without PR_SET_PDEATHSIG), but jackd 1.9.21 sometimes hangs
    // in its own shutdown (threads parked on futexes, no signal pending) when its parent's
    // in-callback client died mid-cycle, so "gone within N s" fails at random.
    @Test("a server started by a process that is SIGKILLed goes away with it",
          .disabled("jackd 1.9.21 may hang in shutdown after SIGTERM when a client died mid-cycle"))
    func serverDiesWithItsParent() async throws {
        let name = JackServerProcess.Configuration.uniqueName(prefix: "wasapi-orphan")
        let tool = try RunningProcess(arguments: ["monitor", "--server", name, "--start-server", "--no-connect",
                                                  "--seconds", "60"])
        defer { tool.stop() }
        #expect(tool.waitForOutput(timeoutSeconds: 30) { $0.contains("output ports:") },
                "the tool never started monitoring: \(tool.standardOutput) \(tool.standardError)")
        let server = try #require(jackdProcess(named: name), "no jackd -n \(name) running")
        #expect(processIsAlive(server))
        kill(tool.processIdentifier, SIGKILL)
        // jackd gets SIGTERM at once; it may then wait out its client timeout for the dead
        // client (5 s), longer on a loaded machine.
        let deadline = Date().addingTimeInterval(30)
        while processIsAlive(server) && Date() < deadline { usleep(50_000) }
        #expect(!processIsAlive(server), "jackd \(server) outlived its parent by 30 s")
        if processIsAlive(server) { kill(server, SIGKILL) }
    }
}

/// The pid of the running `jackd -n name`, from /proc.
private func jackdProcess(named name: String) -> pid_t? {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    for entry in entries {
        guard let pid = pid_t(entry),
              let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else { continue }
        let arguments = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        guard arguments.first?.hasSuffix("jackd") == true,
              let flag = arguments.firstIndex(of: "-n"), flag + 1 < arguments.count, arguments[flag + 1] == name
        else { continue }
        if processIsAlive(pid) { return pid }
    }
    return nil
}

/// Whether `pid` exists and is not a zombie (an orphan may wait for a reaper).
private func processIsAlive(_ pid: pid_t) -> Bool {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = stat.lastIndex(of: ")") else { return false }
    let state = stat[stat.index(close, offsetBy: 2)...].first
    return state != "Z" && state != "X"
}

@Suite("One server per process", .timeLimit(.minutes(15)))
struct OneServerPerProcessTests {
    @Test("a client on a second server is refused while the first server has clients, allowed after")
    func secondServerRefused() async throws {
        try await withJackServer { first in
            let client = try JackClient(name: "first", serverName: first.name)
            let other = "wasapi-test-other-\(first.name)"
            let error = #expect(throws: EngineError.self) { try JackClient(name: "second", serverName: other) }
            #expect(error == .otherServerInUse(inUse: first.name, requested: other))
            // The refused open left the first client usable.
            #expect(client.sampleRate == 48_000)
            client.close()
            // With no client left, another server name is accepted (and fails only because it is absent).
            let absent = #expect(throws: EngineError.self) { try JackClient(name: "second", serverName: other) }
            guard case .serverNotRunning? = absent else {
                Issue.record("expected serverNotRunning, got \(String(describing: absent))")
                return
            }
        }
    }
}
