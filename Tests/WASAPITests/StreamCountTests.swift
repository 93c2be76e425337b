import JackTestSupport
import Testing
import WASAPI

/// How many streams one process holds: no limit of the library's own, only
/// JACK's on ports (jackd2: 768 per client by default).
@Suite("Streams per process (jackd)", .timeLimit(.minutes(15)))
struct StreamCountTests {
    @Test("300 streams initialise in one process; the 300th runs, and still runs after 200 others are released and one more is added")
    func moreThan256Streams() async throws {
        // A mono endpoint: one port per stream.
        try await withJackServer(playbackChannels: 1) { server in
            let enumerator = try MMDeviceEnumerator(serverName: server.name)
            let device = try enumerator.getDefaultAudioEndpoint(.render, role: .console)
            var clients: [AudioClient] = []
            for index in 0..<300 {
                let client = try device.activateAudioClient()
                do {
                    try client.initialize(shareMode: .shared, streamFlags: [], bufferDuration: 1_000_000,
                                          format: try client.getMixFormat())
                } catch {
                    Issue.record("stream \(index + 1) did not initialise: \(error)")
                    throw error
                }
                clients.append(client)
            }
            let last = try #require(clients.last)
            let render = try last.getRenderClient()
            let frames = try last.getBufferSize()
            _ = try render.getBuffer(frames: frames)
            try render.releaseBuffer(frames: frames, flags: .silent)
            try last.start()
            try await waitUntil(seconds: 5) { (try? last.getCurrentPadding()).map { $0 < frames } ?? false }
            #expect(try last.getCurrentPadding() < frames, "the 300th stream runs")

            clients.removeFirst(200)
            let added = try device.activateAudioClient()
            try added.initialize(shareMode: .shared, streamFlags: [], bufferDuration: 1_000_000,
                                 format: try added.getMixFormat())
            let before = try last.getClock().getDevicePosition().position
            try await waitUntil(seconds: 5) { ((try? last.getClock().getDevicePosition().position) ?? 0) > before }
            #expect(try last.getClock().getDevicePosition().position > before, "it still runs after the table changed")
            try last.stop()
        }
    }
}
