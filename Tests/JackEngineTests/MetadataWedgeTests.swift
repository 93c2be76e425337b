import AudioGraph
import CBerkeleyDB
import Foundation
@testable import JackEngine
import JackTestSupport
import Testing

/// jackd2's metadata database held by another process, as one that died
/// inside it leaves it: a child takes the write lock of the database's first
/// page in jackd2's Berkeley DB environment and stops itself (SIGSTOP).
/// Every metadata call of every JACK process then waits behind that lock;
/// a killed holder never lets go (issue 14: the chaos test hung in
/// `jack_get_property`). Without ``MetadataAccess`` the calls here waited
/// until the child went on.
@Suite("A metadata database another process holds", .timeLimit(.minutes(15)))
struct MetadataWedgeTests {
    static let serverVariable = "WASAPI_TEST_WEDGE_SERVER"

    @Test("a write waits at most the bound, later calls give up at once, and all works again once the holder lets go (jackd2)")
    func callsAreBoundedWhileAnotherProcessHoldsTheDatabase() async throws {
        try await withJackServer { server in
            let writer = try JackClient(name: "writer", serverName: server.name)
            defer { writer.close() }
            let subject = try #require(writer.ownUUID)
            #expect(writer.setProperty("urn:wasapi-jack:test:probe", of: subject, to: "before"))
            try await Self.whileAnotherProcessHoldsTheLock(on: server) { letGo in
                let start = ContinuousClock.now
                let written = writer.setProperty("urn:wasapi-jack:test:probe", of: subject, to: "held")
                let waited = ContinuousClock.now - start
                #expect(!written, "the write reported success behind the lock")
                #expect(waited < .seconds(2), "the write waited \(waited)")
                let quick = ContinuousClock.now
                #expect(writer.property("urn:wasapi-jack:test:probe", of: subject) == nil)
                #expect(ContinuousClock.now - quick < .milliseconds(500), "a read behind the stuck write waited")
                // The stuck write holds the client's request lock (it would tell
                // the server what changed): the client's requests fail at once.
                let request = ContinuousClock.now
                #expect(throws: EngineError.requestsHeld(clientName: writer.name)) {
                    _ = try writer.registerPort("behind-the-write", direction: .output)
                }
                #expect(ContinuousClock.now - request < .milliseconds(500), "a request behind the stuck write waited")
                letGo()

                // The holder let go: the stuck write returns, and calls work again.
                for _ in 0..<500 where MetadataAccess.shared.isStuck { usleep(10_000) }
                #expect(writer.setProperty("urn:wasapi-jack:test:probe", of: subject, to: "after"))
                #expect(writer.property("urn:wasapi-jack:test:probe", of: subject) == "after")
                #expect(throws: Never.self) { writer.unregister(try writer.registerPort("after-the-write", direction: .output)) }
            }
        }
    }

    @Test("the process's first open, which opens the database inside libjack, waits at most its bound; later opens fail at once, and opening works again once the holder lets go (jackd2)")
    func openIsBoundedWhileAnotherProcessHoldsTheDatabase() async throws {
        try await withJackServer { server in
            // No client of this process is open here: the next one opens the database.
            try #require(JackClient.serverInUse == nil)
            try await Self.whileAnotherProcessHoldsTheLock(on: server) { letGo in
                let start = ContinuousClock.now
                #expect(throws: EngineError.metadataHeld(serverName: server.name)) {
                    _ = try JackClient(name: "first", serverName: server.name)
                }
                let waited = ContinuousClock.now - start
                #expect(waited < .seconds(2), "the open waited \(waited)")
                let quick = ContinuousClock.now
                #expect(throws: EngineError.metadataHeld(serverName: server.name)) {
                    _ = try JackClient(name: "second", serverName: server.name)
                }
                #expect(ContinuousClock.now - quick < .milliseconds(500), "an open behind the stuck one waited")
                letGo()

                // The holder let go: the stuck open returns (its client is closed), and opens work again.
                for _ in 0..<500 where BoundedOpenClose.isStuck { usleep(10_000) }
                let later = try JackClient(name: "later", serverName: server.name)
                later.close()
            }
        }
    }

    /// Runs `body` while a child process holds the database's lock, stopped;
    /// `body` lets it go on with the closure it gets. Without the bounds
    /// tested, calls would wait for the child: a thread lets it go on after
    /// 8 s anyway, so that the test fails instead of hanging.
    static func whileAnotherProcessHoldsTheLock(on server: JackServerProcess,
                                               _ body: (_ letGo: () -> Void) async throws -> Void) async throws {
        setenv(serverVariable, server.name, 1)
        defer { unsetenv(serverVariable) }
        async let child = #expect(processExitsWith: .success, "the child that holds the lock") {
            Self.holdTheLockUntilContinued()
        }
        let holder = StoppedProcess(try await stoppedChild(), alreadyStopped: true)
        let letGo = { holder.resume() }
        do { try await body(letGo) } catch { letGo(); _ = await child; throw error }
        letGo()
        _ = await child
    }

    /// The child's pid, once it stopped itself holding the lock: found in
    /// /proc (a process of ours, stopped), since metadata is what it blocks.
    static func stoppedChild() async throws -> pid_t {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
            for entry in entries {
                guard let pid = pid_t(entry),
                      let status = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                      let fields = status.split(separator: ")").last?.split(separator: " "), fields.count > 2,
                      fields[0] == "T", fields[1] == "\(getpid())" else { continue }
                return pid
            }
            try await pause(for: .milliseconds(20))
        }
        throw WedgeError.childNeverStopped
    }

    enum WedgeError: Error { case childNeverStopped }

    /// The child: takes the write lock of page 0 of
    /// `metadata.db` in jackd2's environment, stops itself, and once
    /// continued lets go and leaves.
    static func holdTheLockUntilContinued() -> Never {
        let name = String(cString: getenv(serverVariable))
        guard let client = try? JackClient(name: "holder", serverName: name) else { _exit(2) }
        let directory = "/dev/shm/jack_db-\(getuid())"
        var environment: UnsafeMutablePointer<DB_ENV>?
        guard db_env_create(&environment, 0) == 0, let env = environment,
              env.pointee.open(env, directory, UInt32(DB_JOINENV | DB_INIT_LOCK | DB_INIT_MPOOL | DB_THREAD), 0) == 0
        else { _exit(3) }
        var database: UnsafeMutablePointer<DB>?
        guard db_create(&database, env, 0) == 0, let db = database,
              db.pointee.open(db, nil, directory + "/metadata.db", nil, DB_HASH, UInt32(DB_THREAD), 0) == 0
        else { _exit(4) }
        // A page lock as Berkeley DB names it: page number, file id, kind.
        var object = DB_LOCK_ILOCK()
        object.pgno = 0
        object.type = UInt32(DB_PAGE_LOCK)
        let mpool = db.pointee.get_mpf(db)!
        withUnsafeMutableBytes(of: &object.fileid) { _ = mpool.pointee.get_fileid(mpool, $0.baseAddress!.assumingMemoryBound(to: UInt8.self)) }
        var locker: UInt32 = 0
        var lock = DB_LOCK()
        let taken = withUnsafeMutableBytes(of: &object) { bytes -> Bool in
            var key = DBT()
            key.data = bytes.baseAddress
            key.size = UInt32(bytes.count)
            return env.pointee.lock_id(env, &locker) == 0
                && env.pointee.lock_get(env, locker, 0, &key, DB_LOCK_WRITE, &lock) == 0
        }
        guard taken else { _exit(5) }
        raise(SIGSTOP)
        _ = env.pointee.lock_put(env, &lock)
        _ = env.pointee.lock_id_free(env, locker)
        _ = db.pointee.close(db, 0)
        _ = env.pointee.close(env, 0)
        client.close()
        ProcessExit.markExiting()
        _exit(0)
    }
}
