import JackEngine
import ServerFixtures
import WASAPI

/// An enumerator on the requested server, and the private server started for
/// it when `--start-server` was given and none answered.
struct ServerSession {
    let enumerator: MMDeviceEnumerator
    let startedServer: JackServerProcess?

    static func open(options: ServerOptions, includeVirtual: Bool = false) throws -> ServerSession {
        let attempt = Result { () throws(AudioError) in
            try MMDeviceEnumerator(serverName: options.server, includeVirtualEndpoints: includeVirtual)
        }
        if case let .failure(error) = attempt, error.code == .AUDCLNT_E_SERVICE_NOT_RUNNING, options.startServer {
            let server = try startPrivateServer(named: options.server)
            return ServerSession(
                enumerator: try MMDeviceEnumerator(serverName: server.name, includeVirtualEndpoints: includeVirtual),
                startedServer: server)
        }
        return ServerSession(enumerator: try attempt.get(), startedServer: nil)
    }
}

/// Starts a private jackd (dummy backend) and says so.
func startPrivateServer(named name: String?) throws -> JackServerProcess {
    let configuration = JackServerProcess.Configuration(
        name: name ?? JackServerProcess.Configuration.uniqueName())
    let server = try JackServerProcess.start(configuration)
    print("started a private JACK server '\(server.name)' (dummy backend, "
          + "\(configuration.sampleRate) Hz, \(configuration.period) frames"
          + (server.isRealtime ? ", real-time" : "") + "); it stops when this command exits")
    return server
}
