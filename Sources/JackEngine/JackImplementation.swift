import CJack

/// Which JACK this process talks to: jackd2's libjack or PipeWire's
/// (pipewire-jack, chosen with `pw-jack` or as the system libjack), with the
/// version libjack reports.
///
/// Thread safety: any thread.
enum JackImplementation {
    /// "jackd2 1.9.21" or "pipewire-jack 0.3.65".
    static let current: String = isPipeWire ? "pipewire-jack " + pipeWireVersion : "jackd2 " + versionString

    /// What `jack_get_version_string` says: "1.9.21" (jackd2) or
    /// "3.0.0.0 (using PipeWire 0.3.65)" (pipewire-jack).
    static let versionString = String(cString: jack_get_version_string())

    /// Whether the libjack mapped into this process is PipeWire's, by its
    /// version string.
    ///
    /// (It used to search `/proc/self/maps` read with
    /// `String(contentsOfFile:)`, which returns only the first 4 KiB of a
    /// procfs file: in the command-line tool libjack is mapped further down,
    /// so pipewire-jack was reported, and worked around, as jackd2.)
    static let isPipeWire: Bool = versionString.contains("PipeWire")

    /// "0.3.65" from "3.0.0.0 (using PipeWire 0.3.65)"; the whole string otherwise.
    static let pipeWireVersion: String = {
        guard let start = versionString.split(separator: " ").firstIndex(of: "PipeWire") else { return versionString }
        let words = versionString.split(separator: " ")
        guard start + 1 < words.count else { return versionString }
        return String(words[start + 1].prefix { $0 != ")" })
    }()
}
