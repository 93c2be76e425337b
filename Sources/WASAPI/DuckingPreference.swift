import Foundation
import Glibc

/// How much other sessions are attenuated while a communications stream
/// runs: Windows' choices in its Communications settings. Default
/// ``reduceBy80Percent``.
public enum DuckingPreference: String, Sendable, CaseIterable {
    /// Mute all other sounds.
    case muteOthers = "mute"
    /// Reduce the volume of other sounds by 80 % (gain 0.2, -14 dB).
    case reduceBy80Percent = "80"
    /// Reduce the volume of other sounds by 50 % (gain 0.5, -6 dB).
    case reduceBy50Percent = "50"
    /// Do nothing.
    case doNothing = "none"

    /// The gain a ducked session gets.
    public var gain: Float {
        switch self {
        case .muteOthers: 0
        case .reduceBy80Percent: 0.2
        case .reduceBy50Percent: 0.5
        case .doNothing: 1
        }
    }
}

/// The ducking preference of the user, per server: `ducking-SERVER.conf` in
/// the configuration directory (see ``userConfigDirectory()``), one word
/// (`mute`, `80`, `50` or `none`). A missing or malformed file means the
/// default. After writing it a process touches
/// ``SessionMetadata/duckingChangedKey`` on its own client, and every
/// process rereads it.
///
/// Thread safety: any control thread; the file is replaced atomically.
package struct DuckingPreferenceStore: Sendable {
    let path: String

    init(serverName: String) {
        path = userConfigDirectory() + "/ducking-\(safeFileComponent(serverName)).conf"
    }

    /// A store in the file at `path` (for tests).
    package init(path: String) { self.path = path }

    package func load() -> DuckingPreference {
        guard let text = PrivateFiles.read(path, limit: 32) else { return .reduceBy80Percent }
        let word = text.split(whereSeparator: \.isWhitespace).first.map(String.init) ?? ""
        return DuckingPreference(rawValue: word) ?? .reduceBy80Percent
    }

    package func store(_ preference: DuckingPreference) throws(AudioError) {
        try writeConfigFile(path, contents: preference.rawValue + "\n")
    }
}

/// The per-user configuration directory: `$WASAPI_JACK_CONFIG_DIR`, else
/// `$XDG_CONFIG_HOME/wasapi-jack`, else `~/.config/wasapi-jack` (the home
/// directory from `$HOME`, else the password database; never a shared /tmp
/// path: without a home the private runtime directory is used).
func userConfigDirectory() -> String {
    let environment = ProcessInfo.processInfo.environment
    if let explicit = environment["WASAPI_JACK_CONFIG_DIR"] { return explicit }
    if let xdg = environment["XDG_CONFIG_HOME"] { return xdg + "/wasapi-jack" }
    if let home = environment["HOME"] ?? getpwuid(geteuid()).map({ String(cString: $0.pointee.pw_dir) }), home.hasPrefix("/") {
        return home + "/.config/wasapi-jack"
    }
    return ((try? PrivateFiles.runtimeDirectory()) ?? "/nonexistent") + "/config"
}

/// `text` with everything but letters, digits, `-` and `_` replaced, for file names.
func safeFileComponent(_ text: String) -> String {
    String(text.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "_" })
}

/// Replaces the file at `path` with `contents` atomically (temporary file,
/// then rename; a symbolic link at `path` is replaced, not followed),
/// creating its directory: missing components mode 0700, and the last one
/// must be ours and writable by nobody else.
func writeConfigFile(_ path: String, contents: String) throws(AudioError) {
    var partial = ""
    for component in path.split(separator: "/").dropLast() {
        partial += "/" + component
        if mkdir(partial, 0o700) != 0 && errno != EEXIST {
            throw AudioError(.E_ACCESSDENIED, "cannot create \(partial): \(String(cString: strerror(errno)))")
        }
    }
    var directory = stat()
    guard stat(partial.isEmpty ? "/" : partial, &directory) == 0, directory.st_uid == geteuid(),
          directory.st_mode & 0o022 == 0 else {
        throw AudioError(.E_ACCESSDENIED, "refusing to write \(path): its directory is not ours alone")
    }
    do { try PrivateFiles.writeAtomically(path, contents: contents) } catch {
        throw AudioError(.E_ACCESSDENIED, error.description)
    }
}
