import CJack
import Logging

/// Routes libjack's own error and info messages to swift-log, under the
/// label `wasapi-jack.libjack`, at debug level.
///
/// libjack prints to stderr by default, which floods a terminal with "cannot
/// connect to server" lines whenever a library probes for a server; every
/// failure that matters surfaces as a typed ``EngineError`` instead. An
/// application that wants libjack's words bootstraps swift-log with the
/// debug level (the command line does when `WASAPI_JACK_VERBOSE` is set).
///
/// Thread safety: libjack calls these from any of its threads, including its
/// notification thread.
enum JackDiagnostics {
    /// The logger of libjack's messages.
    static let logger = Logger(label: "wasapi-jack.libjack")

    private static let installed: Void = {
        jack_set_error_function(logJackError)
        jack_set_info_function(logJackInfo)
    }()

    /// Installs the handlers; idempotent.
    static func installOnce() { installed }
}

private func logJackError(_ message: UnsafePointer<CChar>?) {
    guard let message else { return }
    JackDiagnostics.logger.debug("error: \(String(cString: message))")
}

private func logJackInfo(_ message: UnsafePointer<CChar>?) {
    guard let message else { return }
    JackDiagnostics.logger.debug("\(String(cString: message))")
}
