import ArgumentParser
import Foundation
import WASAPI

/// `wasapi-jack sessions`: every audio session on the server, as a volume mixer lists them.
struct Sessions: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the audio sessions of every process on the JACK server.")

    @OptionGroup var serverOptions: ServerOptions

    @Flag(help: "Print JSON.")
    var json = false

    struct Row: Codable {
        var id: String
        var guid: String
        var endpoint: String
        var displayName: String
        var state: String
        var pid: Int32
        var volume: Float
        var mute: Bool
    }

    func run() throws {
        try reportingFailures {
            let session = try ServerSession.open(options: serverOptions, includeVirtual: true)
            let rows = try allSessions(session.enumerator).map { control in
                Row(id: try control.getSessionInstanceIdentifier(), guid: "{\(try control.getSessionGUID().uuidString)}",
                    endpoint: try control.getEndpointID(), displayName: try control.getDisplayName(),
                    state: try control.getState().rawValue, pid: try control.getProcessId(),
                    volume: try control.simpleAudioVolume().getMasterVolume(),
                    mute: try control.simpleAudioVolume().getMute())
            }
            if json {
                try printJSON(rows)
                return
            }
            if rows.isEmpty { print("no audio sessions on the server") }
            for row in rows {
                let name = row.displayName.isEmpty ? "(no name)" : row.displayName
                print("\(name)  pid \(row.pid)  [\(row.state)]  volume \(row.volume)\(row.mute ? "  muted" : "")")
                print("    id       \(row.id)")
                print("    endpoint \(row.endpoint)")
            }
        }
    }
}

/// `wasapi-jack volume SESSION LEVEL`: a session's master volume (ISimpleAudioVolume).
struct Volume: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Set the master volume (0...1) of any process's audio session.")

    @OptionGroup var target: SessionChangeOptions

    @Argument(help: "The volume, a linear gain from 0 to 1 (0.25 is -12 dB).")
    var level: Float

    func run() throws {
        try target.apply("volume \(level)", change: { try $0.setMasterVolume(level, context: $1) },
                         isApplied: { try $0.getMasterVolume() == level })
    }
}

/// `wasapi-jack mute SESSION on|off`: a session's mute (ISimpleAudioVolume).
struct Mute: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Mute or unmute any process's audio session.")

    @OptionGroup var target: SessionChangeOptions

    @Argument(help: "on or off.")
    var state: OnOff

    func run() throws {
        try target.apply("mute \(state.rawValue)", change: { try $0.setMute(state == .on, context: $1) },
                         isApplied: { try $0.getMute() == (state == .on) })
    }
}

/// What `volume` and `mute` share: the server, the session, the event context.
struct SessionChangeOptions: ParsableArguments {
    @OptionGroup var serverOptions: ServerOptions

    @Argument(help: "The session: its id, its GUID or its display name (see `wasapi-jack sessions`).")
    var session: String

    @Option(help: "The event context GUID the session's events carry, with or without braces (default: a new one, printed).")
    var context: UUID?

    /// Finds the session, makes `change` with the event context, waits until
    /// the owning process confirms it (`isApplied`), and says `what` was done.
    func apply(_ what: String, change: (SimpleAudioVolume, UUID) throws -> Void,
               isApplied: (SimpleAudioVolume) throws -> Bool) throws {
        try reportingFailures {
            let server = try ServerSession.open(options: serverOptions, includeVirtual: true)
            let control = try findSession(session, enumerator: server.enumerator)
            let context = self.context ?? UUID()
            let volume = control.simpleAudioVolume()
            try change(volume, context)
            try awaitConfirmation(what) { try isApplied(volume) }
            print("session \(try control.getSessionInstanceIdentifier()): \(what) (context {\(context.uuidString)})")
        }
    }
}

/// `on` or `off`.
enum OnOff: String, ExpressibleByArgument, CaseIterable {
    case on, off
}

/// Every session on every endpoint of the server.
func allSessions(_ enumerator: MMDeviceEnumerator) throws -> [AudioSessionControl] {
    try enumerator.enumAudioEndpoints(.all, stateMask: .all).flatMap { device in
        device.activateSessionManager().getSessionEnumerator().sessions
    }
}

/// The session `text` names: its instance id, its GUID or its display name, if exactly one matches.
func findSession(_ text: String, enumerator: MMDeviceEnumerator) throws -> AudioSessionControl {
    let sessions = try allSessions(enumerator)
    for matches in [{ (control: AudioSessionControl) in try control.getSessionInstanceIdentifier() == text },
                    { try $0.getSessionGUID() == UUID(argument: text) },
                    { try $0.getDisplayName() == text && !text.isEmpty }] {
        let found = try sessions.filter(matches)
        if found.count == 1 { return found[0] }
        if found.count > 1 {
            throw CommandFailure("'\(text)' names \(found.count) sessions; pass the id from `wasapi-jack sessions`")
        }
    }
    throw CommandFailure("no audio session '\(text)' on the server; run `wasapi-jack sessions` to list them")
}

/// Waits (up to 2 s) until the owning process republished the session with
/// the change, so that the command returns once the change is in effect.
func awaitConfirmation(_ what: String, _ applied: () throws -> Bool) throws {
    let deadline = Date().addingTimeInterval(2)
    while try !applied() {
        guard Date() < deadline else {
            throw CommandFailure("the session's process did not confirm \(what) within 2 s; it may be stuck, or gone")
        }
        usleep(5_000)
    }
}
