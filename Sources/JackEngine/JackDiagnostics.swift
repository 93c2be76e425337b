import CJack
import Glibc

/// Routes libjack's own error and info messages.
///
/// libjack prints to stderr by default, which floods a terminal with "cannot
/// connect to server" lines whenever a library probes for a server. We drop
/// them unless `WASAPI_JACK_VERBOSE` is set in the environment; every failure
/// still surfaces as a typed ``EngineError``.
///
/// Thread safety: libjack calls these from any thread, including its
/// notification thread; they only write to stderr when verbose.
enum JackDiagnostics {
    private static let installed: Void = {
        if getenv("WASAPI_JACK_VERBOSE") != nil {
            jack_set_error_function(printJackMessage)
            jack_set_info_function(printJackMessage)
        } else {
            jack_set_error_function(dropJackMessage)
            jack_set_info_function(dropJackMessage)
        }
    }()

    /// Installs the handlers; idempotent.
    static func installOnce() { installed }
}

private func printJackMessage(_ message: UnsafePointer<CChar>?) {
    guard let message else { return }
    let line = "jack: " + String(cString: message) + "\n"
    _ = line.withCString { write(STDERR_FILENO, $0, strlen($0)) }
}

private func dropJackMessage(_ message: UnsafePointer<CChar>?) {}
