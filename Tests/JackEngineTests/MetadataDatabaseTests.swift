import Foundation
import Glibc
import JackTestSupport
import ServerFixtures
import Testing

/// The fixture's check for a wedged jackd2 metadata database, fed a fake
/// one in a temporary directory (the real /dev/shm is not touched).
@Suite("Wedged metadata database detection", .timeLimit(.minutes(15)))
struct MetadataDatabaseTests {
    @Test("a locked jack_db-UID is reported with its path, age and lock; the error says what to remove")
    func lockedDatabase() throws {
        let directory = makeTemporaryDirectory(prefix: "wasapi-jackdb")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(JackServerProcess.metadataDatabase(in: directory, uid: 4242) == nil, "no database: nothing to report")
        let database = directory + "/jack_db-4242"
        #expect(mkdir(database, 0o700) == 0)
        let file = database + "/__db.001"
        #expect(FileManager.default.createFile(atPath: file, contents: Data(count: 64)))
        let unlocked = try #require(JackServerProcess.metadataDatabase(in: directory, uid: 4242, now: time(nil) + 30))
        #expect(!unlocked.isLocked)
        #expect(unlocked.ageSeconds >= 29 && unlocked.ageSeconds <= 31)

        // Another open file description holds a write lock, as a process that died inside Berkeley DB would.
        let holder = open(file, O_RDWR)
        #expect(holder >= 0)
        defer { close(holder) }
        var lock = flock()
        lock.l_type = Int16(F_WRLCK)
        lock.l_whence = Int16(SEEK_SET)
        #expect(fcntl(holder, JackServerProcess.ofdSetLock, &lock) == 0)
        let state = try #require(JackServerProcess.metadataDatabase(in: directory, uid: 4242))
        #expect(state.isLocked)
        #expect(state.path == database)
        let message = JackServerProcess.StartError.metadataDatabaseWedged(name: "x", seconds: 15, database: state).description
        #expect(message.contains(database) && message.contains("locked") && message.contains("stop every jackd")
                && message.contains("remove"), "\(message)")
    }
}
