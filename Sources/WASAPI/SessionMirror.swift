import Glibc

/// A copy of every session and endpoint-volume value this library writes
/// as JACK metadata, in a per-user, per-server directory, so that every
/// process on the server can read it whatever happened to JACK's database.
///
/// Why: jackd2 keeps metadata in one Berkeley DB per user
/// (`/dev/shm/jack_db-UID`), shared by all servers, and deletes it when any
/// server stops. A process that opened the database before that keeps the
/// deleted copy, one that opens it afterwards gets a new one, and the two no
/// longer see each other's values (the change notifications still arrive:
/// the server sends them). Readers therefore take the newer of the metadata
/// value and this copy (see ``SessionHub/readValues(_:of:)``), and check
/// both as untrusted input.
///
/// Files: `RUNTIME/wasapi-jack-UID-SERVER/SUBJECT_KEY` in the per-user runtime
/// directory (``PrivateFiles/runtimeDirectory()``); the directory is mode 0700
/// and checked before use, each file is replaced atomically and read only when
/// it is a regular file of ours. Without a usable runtime directory the
/// mirror stays empty.
///
/// Thread safety: any control thread.
package struct SessionMirror: Sendable {
    package let directory: String

    package init(serverName: String) {
        let base = (try? PrivateFiles.runtimeDirectory()) ?? "/nonexistent"
        directory = "\(base)/wasapi-jack-\(getuid())-\(safeFileComponent(serverName))"
    }

    private func path(_ key: String, of subject: UInt64) -> String {
        "\(directory)/\(subject)_\(safeFileComponent(key))"
    }

    /// Stores `value` for `key` on `subject`; whether it was written. A
    /// second try covers the directory removed by another process's
    /// ``remove(_:of:)`` between the two steps.
    @discardableResult
    package func write(_ key: String, of subject: UInt64, value: String) -> Bool {
        for _ in 0..<2 {
            do {
                try PrivateFiles.makeDirectory(directory)
                try PrivateFiles.writeAtomically(path(key, of: subject), contents: value)
                return true
            } catch {
                continue
            }
        }
        return false
    }

    /// The stored value (at most ``SessionMetadata/maximumLength`` bytes are
    /// read; longer is returned cut, and fails to decode).
    package func read(_ key: String, of subject: UInt64) -> String? { readFile(path(key, of: subject)) }

    /// Removes the value, and the directory once it holds none (a server
    /// name used once, as tests and the simulated engine do, leaves nothing).
    package func remove(_ key: String, of subject: UInt64) {
        unlink(path(key, of: subject))
        rmdir(directory)  // fails, harmlessly, while other values are there
    }

    /// The values of every stored key that starts with `prefix`, with their subjects.
    package func values(withKeyPrefix prefix: String) -> [(subject: UInt64, value: String)] {
        guard (try? PrivateFiles.checkDirectory(directory, requireMode0700: true)) != nil,
              let handle = opendir(directory) else { return [] }
        defer { closedir(handle) }
        let namePrefix = safeFileComponent(prefix)
        var found: [(UInt64, String)] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            let parts = name.split(separator: "_", maxSplits: 1)
            guard parts.count == 2, let subject = UInt64(parts[0]), parts[1].hasPrefix(namePrefix),
                  !name.hasSuffix(".tmp"), let value = readFile("\(directory)/\(name)") else { continue }
            found.append((subject, value))
        }
        return found
    }

    private func readFile(_ path: String) -> String? {
        guard (try? PrivateFiles.checkDirectory(directory, requireMode0700: true)) != nil else { return nil }
        return PrivateFiles.read(path, limit: SessionMetadata.maximumLength + 1)
    }
}
