import Foundation
@testable import JackEngine
import JackTestSupport
import Synchronization
import Testing

/// libjack (jackd2) sends a client's requests on one socket, field by field,
/// with no lock of its own: two threads asking the server something through
/// the same client at once interleave their bytes, and the server then waits
/// for the rest of a request that never comes while both threads wait for
/// answers (seen as `latency` hanging in `jack_port_unregister`, its metadata
/// write racing it). `jack_set_property` and `jack_remove_property` are such
/// requests too (they tell the server what changed), made on the metadata
/// thread (``MetadataAccess``).
@Suite("One request at a time per client", .timeLimit(.minutes(15)))
struct RequestSerializationTests {
    @Test("metadata writes on the database thread and port requests on another thread, through one client, all answer (jackd2)")
    func metadataWritesAndPortRequestsInterleave() async throws {
        try await withJackServer { server in
            let client = try JackClient(name: "requests", serverName: server.name)
            defer { client.close() }
            let subject = try #require(client.ownUUID)
            let rounds = 400
            let writes = Atomic(0), ports = Atomic(0), failures = Atomic(0)
            let writer = Thread {
                for round in 0..<rounds {
                    let key = "urn:wasapi-jack:test:request-\(round % 8)"
                    if client.setProperty(key, of: subject, to: "\(round)") && client.removeProperty(key, of: subject) {
                        writes.add(1, ordering: .relaxed)
                    } else {
                        failures.add(1, ordering: .relaxed)
                    }
                }
            }
            let registrar = Thread {
                for round in 0..<rounds {
                    guard let port = try? client.registerPort("p\(round % 4)", direction: .output) else {
                        failures.add(1, ordering: .relaxed)
                        continue
                    }
                    client.unregister(port)
                    ports.add(1, ordering: .relaxed)
                }
            }
            writer.start()
            registrar.start()
            // Bounded: a desynchronised socket leaves both threads waiting
            // for good; the test then fails here (the server's stop at the
            // end of the test lets them go).
            let deadline = ContinuousClock.now + .seconds(120)
            while writes.load(ordering: .relaxed) + ports.load(ordering: .relaxed) + failures.load(ordering: .relaxed) < 2 * rounds
                    && ContinuousClock.now < deadline {
                usleep(20_000)
            }
            #expect(writes.load(ordering: .relaxed) == rounds, "metadata write pairs answered: \(writes.load(ordering: .relaxed)) of \(rounds)")
            #expect(ports.load(ordering: .relaxed) == rounds, "port register/unregister pairs answered: \(ports.load(ordering: .relaxed)) of \(rounds)")
            #expect(failures.load(ordering: .relaxed) == 0)
        }
    }
}
