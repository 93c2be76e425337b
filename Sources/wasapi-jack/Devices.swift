import ArgumentParser
import Foundation
import WASAPI

/// `wasapi-jack devices`: the endpoints, as IMMDeviceEnumerator sees them.
struct Devices: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the audio endpoints of the JACK graph.")

    @OptionGroup var serverOptions: ServerOptions

    @Flag(help: "Also list other applications' port groups (virtual endpoints).")
    var all = false

    @Flag(help: "Print JSON.")
    var json = false

    struct Row: Codable {
        var id: String
        var name: String
        var flow: String
        var state: String
        var channels: Int
        var sampleRate: Int
        var period: Int
        var defaultRoles: [String]
        var ports: [String]
        var isVirtual: Bool
        /// The libjack in use: "jackd2 1.9.21" or "pipewire-jack 0.3.65".
        var implementation: String
    }

    func run() throws {
        try reportingFailures {
            let session = try ServerSession.open(options: serverOptions, includeVirtual: all)
            let enumerator = session.enumerator
            let defaults = Dictionary(grouping: [DataFlow.render, .capture].flatMap { flow in
                Role.allCases.compactMap { role in
                    (try? enumerator.getDefaultAudioEndpoint(flow, role: role)).map { ($0.id, role.label) }
                }
            }, by: \.0).mapValues { $0.map(\.1) }
            let rows = try enumerator.enumAudioEndpoints(.all, stateMask: .all).map { device in
                Row(id: device.id, name: device.friendlyName,
                    flow: device.dataFlow == .render ? "render" : "capture",
                    state: "\(device.state)", channels: device.channelCount,
                    sampleRate: enumerator.sampleRate, period: enumerator.periodFrames,
                    defaultRoles: defaults[device.id] ?? [], ports: device.portNames,
                    isVirtual: device.isVirtual, implementation: enumerator.engineImplementation)
            }
            if json {
                try printJSON(rows)
                return
            }
            print("JACK server '\(enumerator.serverName)' (\(enumerator.engineImplementation))")
            for row in rows {
                let roles = row.defaultRoles.isEmpty ? "" : "  default: " + row.defaultRoles.joined(separator: ", ")
                print("\(row.flow == "render" ? "▶" : "●") \(row.name)  [\(row.state)]\(roles)")
                print("    id       \(row.id)")
                print("    format   \(row.channels) ch, \(row.sampleRate) Hz, float32, period \(row.period) frames")
                print("    ports    \(row.ports.joined(separator: ", "))")
            }
        }
    }
}

/// `wasapi-jack set-default`: choose the default endpoint for every process on the server.
struct SetDefault: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set-default", abstract: "Make an endpoint the default (for every process on the server).")

    @OptionGroup var serverOptions: ServerOptions

    @Argument(help: "The endpoint id (see `wasapi-jack devices`).")
    var id: String

    @Option(help: "console, multimedia, communications or all.")
    var role: String = "all"

    func run() throws {
        try reportingFailures {
            let roles = role == "all" ? Role.allCases : Role.allCases.filter { $0.label == role }
            guard !roles.isEmpty else {
                throw ValidationError("unknown role '\(role)': use console, multimedia, communications or all")
            }
            let session = try ServerSession.open(options: serverOptions, includeVirtual: true)
            for role in roles { try session.enumerator.setDefaultAudioEndpoint(id: id, role: role) }
            print("default for \(roles.map(\.label).joined(separator: ", ")): \(id)")
        }
    }
}

extension Role {
    var label: String {
        switch self {
        case .console: "console"
        case .multimedia: "multimedia"
        case .communications: "communications"
        }
    }
}
