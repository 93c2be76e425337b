import Foundation
import Glibc

/// The files this library shares between the processes of one user (lock
/// files, the session mirror, configuration), opened so that another local
/// user cannot redirect or forge them.
///
/// - Directories: ``runtimeDirectory()`` is `$XDG_RUNTIME_DIR` when that is a
///   real directory of ours that nobody else may write, else
///   `/tmp/wasapi-jack-UID`, made 0700 and checked (not a symbolic link, ours,
///   mode 0700) before every use: a name in /tmp can be taken by anyone first.
/// - Reading: `open(O_NOFOLLOW)`, then `fstat` on the descriptor (a regular
///   file owned by us), then Foundation's `FileHandle`.
/// - Writing: a new temporary file (`O_CREAT | O_EXCL | O_NOFOLLOW`, 0600)
///   renamed over the target: `rename` replaces a symbolic link planted at
///   the target instead of writing through it.
///
/// Thread safety: any control thread; nothing here is for the real-time path.
package enum PrivateFiles {
    /// Why a path was not used.
    package struct Refusal: Error, CustomStringConvertible, Sendable {
        var path: String
        var reason: String
        package var description: String { "refusing \(path): \(reason)" }
    }

    /// The per-user directory for runtime files (see the type's notes).
    static func runtimeDirectory() throws(Refusal) -> String {
        try runtimeDirectory(xdgRuntimeDirectory: ProcessInfo.processInfo.environment["XDG_RUNTIME_DIR"],
                             fallbackParent: "/tmp")
    }

    /// ``runtimeDirectory()`` with its inputs given (for tests).
    package static func runtimeDirectory(xdgRuntimeDirectory: String?, fallbackParent: String) throws(Refusal) -> String {
        if let xdg = xdgRuntimeDirectory, xdg.hasPrefix("/"), (try? checkDirectory(xdg, requireMode0700: false)) != nil {
            return xdg
        }
        let fallback = "\(fallbackParent)/wasapi-jack-\(geteuid())"
        try makeDirectory(fallback)
        return fallback
    }

    /// Creates `path` (mode 0700) unless it exists, then checks it as
    /// ``checkDirectory(_:requireMode0700:)`` does with mode 0700 required.
    static func makeDirectory(_ path: String) throws(Refusal) {
        if mkdir(path, 0o700) != 0 && errno != EEXIST {
            throw Refusal(path: path, reason: "cannot create it: \(String(cString: strerror(errno)))")
        }
        try checkDirectory(path, requireMode0700: true)
    }

    /// Checks that `path` itself (not what a symbolic link there points to)
    /// is a directory owned by us that neither group nor others may write;
    /// with `requireMode0700`, that its mode is exactly 0700.
    static func checkDirectory(_ path: String, requireMode0700: Bool) throws(Refusal) {
        var info = stat()
        guard lstat(path, &info) == 0 else {
            throw Refusal(path: path, reason: String(cString: strerror(errno)))
        }
        guard info.st_mode & S_IFMT == S_IFDIR else { throw Refusal(path: path, reason: "not a directory (a symbolic link?)") }
        guard info.st_uid == geteuid() else { throw Refusal(path: path, reason: "owned by uid \(info.st_uid), not by us") }
        let mode = info.st_mode & 0o7777
        guard mode & 0o022 == 0 else { throw Refusal(path: path, reason: "writable by others (mode \(String(mode, radix: 8)))") }
        if requireMode0700 && mode != 0o700 {
            throw Refusal(path: path, reason: "mode \(String(mode, radix: 8)), not 700")
        }
    }

    /// Opens `path` with `flags` plus `O_NOFOLLOW | O_CLOEXEC` and checks that
    /// it is a regular file owned by us; the descriptor, or -1 (missing,
    /// a symbolic link, someone else's).
    static func openOwnedFile(_ path: String, flags: Int32, creatingWithMode mode: mode_t = 0o600) -> Int32 {
        let descriptor = open(path, flags | O_NOFOLLOW | O_CLOEXEC, mode)
        guard descriptor >= 0 else { return -1 }
        var info = stat()
        guard fstat(descriptor, &info) == 0, info.st_mode & S_IFMT == S_IFREG, info.st_uid == geteuid() else {
            close(descriptor)
            return -1
        }
        return descriptor
    }

    /// The first `limit` bytes of `path` as text; nil when the file is
    /// missing or refused (see ``openOwnedFile(_:flags:creatingWithMode:)``).
    static func read(_ path: String, limit: Int) -> String? {
        let descriptor = openOwnedFile(path, flags: O_RDONLY)
        guard descriptor >= 0 else { return nil }
        let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
        // nil at end of file: an empty file is empty text, not a missing one.
        let data: Data?
        do { data = try handle.read(upToCount: limit) } catch { return nil }
        return String(decoding: data ?? Data(), as: UTF8.self)
    }

    /// Replaces `path` with `contents` atomically: a fresh temporary file
    /// beside it, then `rename` (which replaces a symbolic link at `path`
    /// rather than following it).
    static func writeAtomically(_ path: String, contents: String) throws(Refusal) {
        let temporary = "\(path).\(getpid())-\(UInt32.random(in: 0...UInt32.max)).tmp"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw Refusal(path: temporary, reason: "cannot create it: \(String(cString: strerror(errno)))")
        }
        let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
        do {
            try handle.write(contentsOf: Data(contents.utf8))
            try handle.close()
        } catch {
            unlink(temporary)
            throw Refusal(path: temporary, reason: "cannot write it: \(error)")
        }
        guard rename(temporary, path) == 0 else {
            let code = errno
            unlink(temporary)
            throw Refusal(path: path, reason: "cannot replace it: \(String(cString: strerror(code)))")
        }
    }
}
