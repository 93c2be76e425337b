import CJack
import Foundation

/// Which JACK this process talks to: jackd2's libjack or PipeWire's
/// (pipewire-jack, chosen with `pw-jack` or as the system libjack), with the
/// version libjack reports.
///
/// Thread safety: any thread.
enum JackImplementation {
    /// "jackd2 1.9.21" or "pipewire-jack 0.3.65".
    static let current: String = {
        let version = String(cString: jack_get_version_string())
        return (isPipeWire ? "pipewire-jack " : "jackd2 ") + version
    }()

    /// Whether the libjack mapped into this process is PipeWire's.
    static let isPipeWire: Bool = {
        guard let maps = try? String(contentsOfFile: "/proc/self/maps", encoding: .utf8) else { return false }
        return maps.split(separator: "\n").contains { $0.contains("libjack") && $0.contains("pipewire") }
    }()
}
