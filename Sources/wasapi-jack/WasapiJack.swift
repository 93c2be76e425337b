import ArgumentParser
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
        main(GlobalOptions.hoist(Array(CommandLine.arguments.dropFirst())))
    }
}

/// Options every command that talks to JACK shares.
struct ServerOptions: ParsableArguments {
    @Option(help: "JACK server name (default: $JACK_DEFAULT_SERVER or JACK's default).")
    var server: String?

    @Flag(help: "When no server answers, start a private jackd (dummy backend) and stop it on exit.")
    var startServer = false
}
