import JackEngine

/// A client on the requested server, and the private server started for it
/// when asked and none answered (it stops when the connection is released).
struct ServerConnection {
    let client: JackClient
    let startedServer: JackServerProcess?

    static func open(clientName: String, options: ServerOptions) throws -> ServerConnection {
        let attempt = Result { () throws(JackError) in
            try JackClient(name: clientName, serverName: options.server)
        }
        if case let .failure(error) = attempt, case .serverNotRunning = error, options.startServer {
            let configuration = JackServerProcess.Configuration(
                name: options.server ?? JackServerProcess.Configuration.uniqueName())
            let server = try JackServerProcess.start(configuration)
            print("started a private JACK server '\(server.name)' (dummy backend, "
                  + "\(configuration.sampleRate) Hz, \(configuration.period) frames"
                  + (server.isRealtime ? ", real-time" : "") + "); it stops when this command exits")
            return ServerConnection(
                client: try JackClient(name: clientName, serverName: server.name), startedServer: server)
        }
        return ServerConnection(client: try attempt.get(), startedServer: nil)
    }
}
