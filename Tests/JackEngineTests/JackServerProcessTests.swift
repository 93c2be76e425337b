import AudioGraph
import JackEngine
import JackTestSupport
import Testing

@Suite("Private jackd fixture")
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

@Suite("One server per process")
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
