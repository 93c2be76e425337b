import Foundation
import PCM
import Realtime
import Synchronization
import WASAPI

/// N event-driven shared render streams in this process, each fed by its own
/// thread the way Microsoft's shared event-driven sample does: wait for the
/// event, GetCurrentPadding, GetBuffer of the free space, write, ReleaseBuffer.
final class OursLoad: LoadUnderTest, @unchecked Sendable {
    /// The smallest shared buffer at a 64-frame period: three periods plus 64 frames.
    static let smallestBufferFrames = 256

    private let enumerator: MMDeviceEnumerator
    private let clients: [AudioClient]
    private let running = RunFlag()
    private var threads: [Thread] = []
    private let finished: DispatchGroup

    init(serverName: String, streams: Int, format: StreamFormat) throws {
        enumerator = try MMDeviceEnumerator(serverName: serverName)
        let device = try enumerator.getDefaultAudioEndpoint(.render, role: .console)
        var clients: [AudioClient] = []
        var feeds: [(AudioRenderClient, RealtimeEvent, WaveFormat)] = []
        for _ in 0..<streams {
            let client = try device.activateAudioClient()
            let waveFormat = format == .float ? try client.getMixFormat()
                                              : WaveFormat(.int16, sampleRate: 44_100, channels: 2, extensible: false)
            let flags: StreamFlags = format == .float ? [.eventCallback] : [.eventCallback, .autoConvertPCM, .srcDefaultQuality]
            try client.initialize(shareMode: .shared, streamFlags: flags, bufferDuration: 0, format: waveFormat)
            let event = try RealtimeEvent()
            try client.setEventHandle(event)
            let render = try client.getRenderClient()
            let frames = try client.getBufferSize()
            _ = try render.getBuffer(frames: frames)
            try render.releaseBuffer(frames: frames, flags: .silent)
            clients.append(client)
            feeds.append((render, event, waveFormat))
        }
        self.clients = clients
        finished = DispatchGroup()
        for (client, (render, event, waveFormat)) in zip(clients, feeds) {
            try client.start()
            finished.enter()
            let thread = Thread { [running, finished] in
                Self.feed(client: client, render: render, event: event, format: waveFormat, running: running)
                finished.leave()
            }
            thread.start()
            threads.append(thread)
        }
    }

    /// The buffer thread of one stream, until `running` is false.
    private static func feed(client: AudioClient, render: AudioRenderClient, event: RealtimeEvent,
                             format: WaveFormat, running: RunFlag) {
        guard let bufferFrames = try? client.getBufferSize() else { return }
        let rate = Float(format.samplesPerSecond)
        var phase: Float = 0
        let step = 2 * Float.pi * 440 / rate
        while running.isSet {
            guard event.wait(timeoutMilliseconds: 1000) == .signaled else { continue }
            guard let padding = try? client.getCurrentPadding() else { return }
            let frames = bufferFrames - padding
            guard frames > 0, let buffer = try? render.getBuffer(frames: frames) else { continue }
            for frame in 0..<frames {
                let sample = 0.25 * sinf(phase)
                phase += step
                if phase > 2 * Float.pi { phase -= 2 * Float.pi }
                if format.bitsPerSample == 16 {
                    let value = Int16(sample * 32767)
                    buffer.storeBytes(of: value, toByteOffset: frame * 4, as: Int16.self)
                    buffer.storeBytes(of: value, toByteOffset: frame * 4 + 2, as: Int16.self)
                } else {
                    buffer.storeBytes(of: sample, toByteOffset: frame * 8, as: Float.self)
                    buffer.storeBytes(of: sample, toByteOffset: frame * 8 + 4, as: Float.self)
                }
            }
            try? render.releaseBuffer(frames: frames)
        }
    }

    func underrunFrames() -> UInt64 {
        clients.reduce(0) { $0 + ((try? $1.glitchFrames()) ?? 0) }
    }

    func stop() {
        running.clear()
        _ = finished.wait(timeout: .now() + 5)
        for client in clients { _ = try? client.stop() }
    }
}

/// A flag the feeding threads poll.
final class RunFlag: Sendable {
    private let value = Atomic<Bool>(true)
    var isSet: Bool { value.load(ordering: .acquiring) }
    func clear() { value.store(false, ordering: .releasing) }
}
