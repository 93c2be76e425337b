import Glibc

/// Exclusive use of one endpoint and direction, shared by every process of
/// the user on the same JACK server: an `flock(2)` on a small file.
///
/// The kernel releases the lock when its descriptor closes, so it goes with
/// the audio client that holds it, and with its process if that dies: no
/// stale lock outlives a crash. The holder removes the file as it lets go
/// (a crashed one leaves the file, unlocked, for the next to reuse). Shared-mode streams test it (a shared lock
/// attempt fails while an exclusive one is held, in this process too).
///
/// Files live in the per-user runtime directory (``PrivateFiles/runtimeDirectory()``),
/// one per server and endpoint, opened without following a symbolic link and
/// only when owned by us.
///
/// Thread safety: any control thread.
package final class ExclusiveLock: Sendable {
    private let descriptor: Int32
    private let path: String

    /// The JACK metadata key set on an engine's own client whenever it takes or
    /// releases exclusive use, so that every process rechecks its shared streams.
    static let changeKey = "urn:wasapi-jack:exclusive-changed"

    private init(descriptor: Int32, path: String) {
        self.descriptor = descriptor
        self.path = path
    }

    /// Removes the file while still holding the lock, so none is left
    /// behind; a process that opened it meanwhile sees, once it holds the
    /// lock, that the path no longer names its file, and opens it again.
    deinit {
        unlink(path)
        close(descriptor)
    }

    /// Takes exclusive use of `endpointID` on `serverName`.
    /// - Throws: AUDCLNT_E_DEVICE_IN_USE when another stream, in this or any
    ///   process, holds it.
    package static func acquire(serverName: String, endpointID: String) throws(AudioError) -> ExclusiveLock {
        let path: String
        do { path = try self.path(serverName: serverName, endpointID: endpointID) } catch {
            throw AudioError(.E_ACCESSDENIED, "no private directory for the exclusive-use lock: \(error)")
        }
        // Each try but the last loses only to a holder that removed the file
        // as it let go; more than a few in a row means something else
        // keeps replacing it.
        for _ in 0..<8 {
            let descriptor = PrivateFiles.openOwnedFile(path, flags: O_RDWR | O_CREAT)
            guard descriptor >= 0 else {
                throw AudioError(.E_ACCESSDENIED, "cannot open the exclusive-use lock \(path) "
                                 + "(missing, a symbolic link, or not ours): \(String(cString: strerror(errno)))")
            }
            guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
                close(descriptor)
                throw AudioError(.AUDCLNT_E_DEVICE_IN_USE, "endpoint \(endpointID) is in exclusive use by another stream")
            }
            if isStillAtPath(descriptor, path) { return ExclusiveLock(descriptor: descriptor, path: path) }
            close(descriptor)
        }
        throw AudioError(.E_ACCESSDENIED, "the exclusive-use lock \(path) kept being replaced")
    }

    /// Whether `path` still names the file open as `descriptor`.
    private static func isStillAtPath(_ descriptor: Int32, _ path: String) -> Bool {
        var open = stat(), named = stat()
        return fstat(descriptor, &open) == 0 && lstat(path, &named) == 0
            && open.st_dev == named.st_dev && open.st_ino == named.st_ino
    }

    /// Whether some stream holds `endpointID` exclusively right now.
    package static func isHeld(serverName: String, endpointID: String) -> Bool {
        guard let path = try? path(serverName: serverName, endpointID: endpointID) else { return false }
        let descriptor = PrivateFiles.openOwnedFile(path, flags: O_RDONLY)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        return flock(descriptor, LOCK_SH | LOCK_NB) != 0
    }

    package static func path(serverName: String, endpointID: String) throws(PrivateFiles.Refusal) -> String {
        let directory = try PrivateFiles.runtimeDirectory()
        let safe = { (text: String) in String(text.map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "_" }) }
        return "\(directory)/wasapi-jack-exclusive-\(safe(serverName))-\(safe(endpointID)).lock"
    }
}
