import ArgumentParser
import JackEngine

/// `wasapi-jack ports`: the JACK ports of the graph.
struct Ports: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the JACK ports of the graph.")

    @OptionGroup var serverOptions: ServerOptions

    func run() throws {
        try reportingFailures {
            let connection = try ServerConnection.open(clientName: "wasapi-jack-ports", options: serverOptions)
            defer { connection.client.close() }
            for name in connection.client.portNames() { print(name) }
        }
    }
}
