import JackEngine

/// Runs `body` against a private jackd (dummy backend, 48 kHz, 64-frame
/// period, 2 capture and 2 playback ports, real-time where the system allows)
/// that is started for this call alone and stopped afterwards, whether `body`
/// returns, throws, or records a failed expectation. A crash of the test
/// process stops it too (see ``JackServerProcess``).
///
/// Integration tests never skip for want of a server: they start one here.
public func withJackServer<Result>(
    sampleRate: Int = 48_000, period: Int = 64,
    captureChannels: Int = 2, playbackChannels: Int = 2,
    _ body: (JackServerProcess) async throws -> Result
) async throws -> Result {
    var configuration = JackServerProcess.Configuration(
        name: JackServerProcess.Configuration.uniqueName(prefix: "wasapi-test"))
    configuration.sampleRate = sampleRate
    configuration.period = period
    configuration.captureChannels = captureChannels
    configuration.playbackChannels = playbackChannels
    let server = try JackServerProcess.start(configuration)
    defer { server.stop() }
    return try await body(server)
}
