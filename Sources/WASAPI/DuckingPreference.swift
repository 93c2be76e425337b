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
struct DuckingPreferenceStore: Sendable {
    let path: String

    init(serverName: String) {
        path = userConfigDirectory() + "/ducking-\(safeFileComponent(serverName)).conf"
    }

    func load() -> DuckingPreference {
        guard let file = fopen(path, "r") else { return .reduceBy80Percent }
        defer { fclose(file) }
        var buffer = [CChar](repeating: 0, count: 32)
        guard fgets(&buffer, Int32(buffer.count), file) != nil else { return .reduceBy80Percent }
        let word = buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            .split(whereSeparator: \.isWhitespace).first.map(String.init) ?? ""
        return DuckingPreference(rawValue: word) ?? .reduceBy80Percent
    }

    func store(_ preference: DuckingPreference) throws(AudioError) {
        try writeConfigFile(path, contents: preference.rawValue + "\n")
    }
}

/// The per-user configuration directory: `$WASAPI_JACK_CONFIG_DIR`, else
/// `$XDG_CONFIG_HOME/wasapi-jack`, else `~/.config/wasapi-jack`.
func userConfigDirectory() -> String {
    if let explicit = getenv("WASAPI_JACK_CONFIG_DIR") { return String(cString: explicit) }
    if let xdg = getenv("XDG_CONFIG_HOME") { return String(cString: xdg) + "/wasapi-jack" }
    return (getenv("HOME").map { String(cString: $0) } ?? "/tmp") + "/.config/wasapi-jack"
}

/// `text` with everything but letters, digits, `-` and `_` replaced, for file names.
func safeFileComponent(_ text: String) -> String {
    String(text.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "_" })
}

/// Replaces the file at `path` with `contents` atomically (temporary file,
/// then rename), creating its directory.
func writeConfigFile(_ path: String, contents: String) throws(AudioError) {
    var partial = ""
    for component in path.split(separator: "/").dropLast() {
        partial += "/" + component
        if mkdir(partial, 0o755) != 0 && errno != EEXIST {
            throw AudioError(.E_ACCESSDENIED, "cannot create \(partial): \(String(cString: strerror(errno)))")
        }
    }
    let temporary = path + ".\(getpid()).tmp"
    guard let file = fopen(temporary, "w") else {
        throw AudioError(.E_ACCESSDENIED, "cannot write \(temporary): \(String(cString: strerror(errno)))")
    }
    let written = fputs(contents, file) >= 0
    fclose(file)
    guard written, rename(temporary, path) == 0 else {
        unlink(temporary)
        throw AudioError(.E_ACCESSDENIED, "cannot replace \(path): \(String(cString: strerror(errno)))")
    }
}
