import AudioGraph
import JackEngine
import ServerFixtures

/// A client on the requested server, and the private server started for it
/// when asked and none answered (it stops when the connection is released).
struct ServerConnection {
    let client: JackClient
    let startedServer: JackServerProcess?

    static func open(clientName: String, options: ServerOptions) throws -> ServerConnection {
        let attempt = Result { () throws(EngineError) in
            try JackClient(name: clientName, serverName: options.server)
        }
        if case let .failure(error) = attempt, case .serverNotRunning = error, options.startServer {
            let server = try startPrivateServer(named: options.server)
            return ServerConnection(
                client: try JackClient(name: clientName, serverName: server.name), startedServer: server)
        }
        return ServerConnection(client: try attempt.get(), startedServer: nil)
    }
}
