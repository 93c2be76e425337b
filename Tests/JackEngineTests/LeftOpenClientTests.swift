import AudioGraph
import Foundation
@testable import JackEngine
import JackTestSupport
import Testing

/// A close that finds a metadata call still running through the client
/// leaves the client open (``MetadataAccess``): jackd2's libjack then still
/// holds it, and with it the server it is on, so a client of another server
/// must not open in the process (``ServerRegistry``: libjack keeps one
/// server's shared memory per process).
@Suite("A client left open keeps its server", .timeLimit(.minutes(15)))
struct LeftOpenClientTests {
    static let serverVariable = "WASAPI_TEST_LEFT_OPEN_SERVER"

    @Test("after a close left a client open behind a slow metadata call, a client of another server is refused (jackd2, in a child process)")
    func leftOpenClientPinsItsServer() async throws {
        try await withJackServer { server in
            setenv(Self.serverVariable, server.name, 1)
            defer { unsetenv(Self.serverVariable) }
            await #expect(processExitsWith: .success, "exit 3: another server opened; 4: another error") {
                let name = String(cString: getenv(Self.serverVariable))
                guard let client = try? JackClient(name: "left-open", serverName: name) else { _exit(2) }
                // A call through the client that outlasts the close's wait,
                // as one held by a dead process's lock in the database does.
                let entered = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0)
                Thread { _ = MetadataAccess.shared.perform(for: client.connection) { entered.signal(); release.wait(); return 0 } }.start()
                entered.wait()
                client.close()
                release.signal()
                while !MetadataAccess.shared.waitUntilIdle(for: client.connection) {}
                do {
                    _ = try JackClient(name: "elsewhere", serverName: "wasapi-test-absent-\(getpid())")
                    _exit(3)
                } catch EngineError.otherServerInUse {
                    _exit(0)
                } catch {
                    _exit(4)
                }
            }
            // jackd2 hangs in its own shutdown when stopped before it saw
            // the child's client go (30 s, then the fixture kills it): wait for that.
            let observer = try JackClient(name: "observer", serverName: server.name)
            defer { observer.close() }
            try await waitUntil(seconds: 10) { observer.uuid(ofClient: "left-open") == nil }
            #expect(observer.uuid(ofClient: "left-open") == nil, "jackd still lists the child's client")
        }
    }
}
