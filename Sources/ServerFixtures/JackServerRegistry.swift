import CLinuxSystem
import Glibc

/// jackd2's registry of running servers, `/dev/shm/jack-shm-registry`.
///
/// It has room for 8 servers. A server that exits cleanly removes its entry;
/// one that was killed (or whose parent died, taking it along) keeps it until
/// a server of the same name starts, and once 8 such entries pile up every
/// jackd refuses to start. Tests kill servers on purpose, and a crashed test
/// run leaves its servers' entries behind, so the fixture frees the entries
/// of servers whose process is gone before it starts one, under jackd's own
/// registry lock (a System V semaphore), as jackd itself does for an entry of
/// the same name.
///
/// Thread safety: any thread; the registry lock serialises with every jackd.
public enum JackServerRegistry {
    /// One registered server.
    public struct Entry: Sendable, Equatable {
        public var pid: pid_t
        /// jackd's "jack-UID:NAME:" prefix.
        public var name: String
    }

    /// The registry's path.
    public static let defaultPath = "/dev/shm/jack-shm-registry"
    /// jackd2's `JACK_SEMAPHORE_KEY`, the registry lock.
    static let lockKey: key_t = 0x282929
    /// `JACK_SHM_MAGIC` ("JACK").
    static let magic: UInt32 = 0x4A41_434B
    /// `MAX_SERVERS`.
    static let serverCount = 8
    /// Where the server array starts: after magic, protocol, type, size,
    /// header length and entry length.
    static let serversOffset = 24

    /// Frees the entries of servers whose process no longer exists and returns
    /// them. Waits at most `timeoutMilliseconds` for the registry lock; does
    /// nothing when there is no registry, it is not this user's or not
    /// jackd2's layout, or the lock did not come.
    @discardableResult
    public static func reclaimDeadServers(path: String = defaultPath, timeoutMilliseconds: Int = 2000) -> [Entry] {
        let descriptor = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC)
        guard descriptor >= 0 else { return [] }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0, info.st_uid == getuid(), info.st_size >= serversOffset else { return [] }
        guard let mapping = mmap(nil, Int(info.st_size), PROT_READ | PROT_WRITE, MAP_SHARED, descriptor, 0),
              mapping != MAP_FAILED else { return [] }
        defer { munmap(mapping, Int(info.st_size)) }
        let header = mapping.assumingMemoryBound(to: UInt32.self)
        // hdr_len covers the server array: its stride is what this jackd built.
        let headerLength = Int(header[4])
        let stride = (headerLength - serversOffset) / serverCount
        guard header[0] == magic, stride >= 8, headerLength <= info.st_size else { return [] }
        guard lockRegistry(timeoutMilliseconds: timeoutMilliseconds) else { return [] }
        defer { unlockRegistry() }
        var reclaimed: [Entry] = []
        for index in 0..<serverCount {
            let entry = mapping + serversOffset + index * stride
            let pid = entry.load(as: pid_t.self)
            guard pid > 0, kill(pid, 0) != 0, errno == ESRCH else { continue }
            let name = String(decoding: UnsafeRawBufferPointer(start: entry + 4, count: stride - 4).prefix { $0 != 0 },
                              as: UTF8.self)
            reclaimed.append(Entry(pid: pid, name: name))
            memset(entry, 0, stride)
        }
        return reclaimed
    }

    /// Takes jackd's registry lock (`semop -1` with SEM_UNDO, bounded). No
    /// lock exists before the first jackd: then there is nothing to wait for.
    private static func lockRegistry(timeoutMilliseconds: Int) -> Bool {
        let semaphore = semget(lockKey, 0, 0)
        guard semaphore >= 0 else { return errno == ENOENT }
        var operation = sembuf(sem_num: 0, sem_op: -1, sem_flg: Int16(SEM_UNDO))
        var timeout = timespec(tv_sec: timeoutMilliseconds / 1000, tv_nsec: (timeoutMilliseconds % 1000) * 1_000_000)
        while semtimedop(semaphore, &operation, 1, &timeout) != 0 {
            guard errno == EINTR else { return false }
        }
        return true
    }

    private static func unlockRegistry() {
        let semaphore = semget(lockKey, 0, 0)
        guard semaphore >= 0 else { return }
        var operation = sembuf(sem_num: 0, sem_op: 1, sem_flg: Int16(SEM_UNDO))
        _ = semop(semaphore, &operation, 1)
    }
}
