import ArgumentParser
import AudioGraph
import Foundation
import Logging
import WASAPI

/// The `wasapi-jack` command line.
@main
struct WasapiJack: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wasapi-jack",
        abstract: "The Windows Audio Session API model on JACK.",
        discussion: """
            --server NAME and --start-server may be given before the command \
            (wasapi-jack --server NAME devices) or after it.
            """,
        version: WASAPIJackVersion.current,
        subcommands: [Demo.self, Devices.self, SetDefault.self, Ports.self, Play.self, Record.self,
                      MonitorCommand.self, LatencyCommand.self,
                      Sessions.self, Volume.self, Mute.self, EndpointVolumeCommand.self])

    /// Sends the libraries' logs (swift-log, labels `wasapi-jack.*`) to
    /// standard error: warnings, or everything with `WASAPI_JACK_VERBOSE`
    /// set (libjack's own messages included), then runs the command.
    static func main() {
        let verbose = ProcessInfo.processInfo.environment["WASAPI_JACK_VERBOSE"] != nil
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = verbose ? .debug : .warning
            return handler
        }
        Interruption.install()
        do {
            var command = try parseAsRoot(GlobalOptions.hoist(Array(CommandLine.arguments.dropFirst())))
            try command.run()
            leave(nil)
        } catch {
            leave(error)
        }
    }

    /// Prints what ArgumentParser prints for `error` (usage, help and
    /// errors), then leaves through `_exit`: every stream, enumerator and
    /// JACK client was released on the way here, and `exit()` could hang.
    /// jackd2's libjack cancels its own threads asynchronously (a failed
    /// open stops the notification thread it just started); a thread
    /// cancelled inside the dynamic linker leaves its lock held, and
    /// `exit()` then waits for it in `_dl_fini` for good. Most likely that
    /// is what the chaos test saw: a `wasapi-jack play` whose open had
    /// failed, stuck in `exit()` on the linker's lock with no other thread left.
    private static func leave(_ error: (any Error)?) -> Never {
        var code = ExitCode.success.rawValue
        if let error {
            code = exitCode(for: error).rawValue
            let message = fullMessage(for: error)
            if !message.isEmpty {
                if code == ExitCode.success.rawValue {
                    print(message)
                } else {
                    FileHandle.standardError.write(Data((message + "\n").utf8))
                }
            }
        }
        ProcessExit.markExiting()
        fflush(nil)
        _exit(code)
    }
}

/// Options every command that talks to JACK shares.
struct ServerOptions: ParsableArguments {
    @Option(help: "JACK server name (default: $JACK_DEFAULT_SERVER or JACK's default).")
    var server: String?

    @Flag(help: "When no server answers, start a private jackd (dummy backend) and stop it on exit.")
    var startServer = false
}
