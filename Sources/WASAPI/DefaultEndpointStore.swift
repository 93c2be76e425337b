import Glibc
import AudioGraph

/// Where the user's default endpoint per data flow and role is kept, so that
/// every process on the same server sees it.
///
/// - Persistence: a per-user file, `defaults-SERVER.conf` in
///   `$WASAPI_JACK_CONFIG_DIR`, else `$XDG_CONFIG_HOME/wasapi-jack`, else
///   `~/.config/wasapi-jack`; one line per choice: `render console ID`.
///   It survives restarts of the server and of every process, as Windows'
///   choice survives a reboot.
/// - Live propagation: after writing the file, the writer touches the JACK
///   metadata key ``changeKey`` on its own client. Every engine on the server
///   receives the property change and rereads the file.
///
/// Unset roles, or a chosen endpoint that is not present, fall back to the
/// first present physical endpoint of the flow.
///
/// Thread safety: any control thread; the file is replaced atomically (write
/// to a temporary file, then rename), and read only when it is a regular file
/// of ours (see ``PrivateFiles``).
package struct DefaultEndpointStore: Sendable {
    /// The metadata key whose change means "defaults were rewritten".
    static let changeKey = "urn:wasapi-jack:default-endpoints-changed"

    let path: String

    init(serverName: String) {
        path = userConfigDirectory() + "/defaults-\(safeFileComponent(serverName)).conf"
    }

    /// A store in the file at `path` (for tests).
    package init(path: String) { self.path = path }

    /// The stored choices: (flow, role) -> endpoint id. Malformed lines are ignored.
    package func load() -> [Choice: String] {
        guard let text = PrivateFiles.read(path, limit: 64 * 1024) else { return [:] }
        var choices: [Choice: String] = [:]
        for line in text.split(separator: "\n") {
            let fields = line.split(whereSeparator: \.isWhitespace).map(String.init)
            guard fields.count == 3,
                  let flow = [DataFlow.render, .capture].first(where: { "\($0)" == fields[0] }),
                  let role = Role.allCases.first(where: { $0.name == fields[1] }),
                  fields[2].count < 200
            else { continue }
            choices[Choice(flow: flow, role: role)] = fields[2]
        }
        return choices
    }

    /// Stores `id` as the default for `flow` and `role`.
    package func store(_ id: String, flow: DataFlow, role: Role) throws(AudioError) {
        var choices = load()
        choices[Choice(flow: flow, role: role)] = id
        let text = choices.sorted { ($0.key.flow.rawValue, $0.key.role.rawValue) < ($1.key.flow.rawValue, $1.key.role.rawValue) }
            .map { "\($0.key.flow) \($0.key.role.name) \($0.value)\n" }.joined()
        try writeConfigFile(path, contents: text)
    }

    package struct Choice: Hashable, Sendable {
        var flow: DataFlow
        var role: Role
    }
}
