import ArgumentParser
import Foundation
import WASAPI

/// `wasapi-jack endpoint-volume`: prints or sets an endpoint's volume (IAudioEndpointVolume).
struct EndpointVolumeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "endpoint-volume",
        abstract: "Print or set an endpoint's volume and mute, for every process on the server.")

    @OptionGroup var serverOptions: ServerOptions

    @Option(help: "The endpoint id (default: the default render endpoint).")
    var device: String?

    @Argument(help: "The volume as an audio-tapered scalar from 0 to 1 (linear in dB from -96 to 0 dB).")
    var level: Float?

    @Option(help: "The volume in dB, from -96 to 0 (write a negative value as --db=-6).")
    var db: Float?

    @Option(help: "on or off.")
    var mute: OnOff?

    @Option(help: "The event context GUID the endpoint's volume callbacks receive, with or without braces (default: a new one).")
    var context: UUID?

    @Flag(help: "Print JSON.")
    var json = false

    struct Report: Codable {
        var id: String
        var levelDB: Float
        var scalar: Float
        var mute: Bool
        var channelsDB: [Float]
        var minimumDB: Float
        var maximumDB: Float
        var incrementDB: Float
    }

    func validate() throws {
        if level != nil && db != nil { throw ValidationError("give LEVEL or --db, not both") }
    }

    func run() throws {
        try reportingFailures {
            let server = try ServerSession.open(options: serverOptions, includeVirtual: true)
            let enumerator = server.enumerator
            let endpoint = try device.map { try enumerator.getDevice(id: $0) }
                ?? enumerator.getDefaultAudioEndpoint(.render, role: .multimedia)
            guard endpoint.state == .active else {
                throw CommandFailure("endpoint '\(endpoint.id)' is not present; run `wasapi-jack devices` to list the active ones")
            }
            let volume = try endpoint.activateEndpointVolume()
            let context = self.context ?? UUID()
            if let level { try volume.setMasterVolumeLevelScalar(level, context: context) }
            if let db { try volume.setMasterVolumeLevel(db, context: context) }
            if let mute { try volume.setMute(mute == .on, context: context) }
            let range = volume.getVolumeRange()
            let report = Report(
                id: endpoint.id, levelDB: volume.getMasterVolumeLevel(), scalar: volume.getMasterVolumeLevelScalar(),
                mute: volume.getMute(),
                channelsDB: try (0..<volume.getChannelCount()).map { try volume.getChannelVolumeLevel($0) },
                minimumDB: range.minimumDB, maximumDB: range.maximumDB, incrementDB: range.incrementDB)
            if json {
                try printJSON(report)
                return
            }
            print("endpoint \(report.id): \(report.levelDB) dB (scalar \(report.scalar))\(report.mute ? ", muted" : "")")
            print("    channels \(report.channelsDB.map { "\($0) dB" }.joined(separator: ", "))")
            print("    range    \(report.minimumDB) to \(report.maximumDB) dB in \(report.incrementDB) dB steps")
        }
    }
}
