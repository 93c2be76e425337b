import ArgumentParser
import Foundation
import PCM
import Realtime
import Synchronization
import WASAPI

/// How `monitor` and `latency` pass capture to render.
enum MonitorMode: String, ExpressibleByArgument, CaseIterable, Sendable {
    /// An ``InCallbackStream`` copying its inputs to its outputs inside the
    /// process callback: no buffering, JACK's own latency.
    case callback
    /// An exclusive event-driven capture stream copied into an exclusive
    /// render stream (one-period buffers) by a thread woken by the capture event.
    case exclusive
    /// The same with shared-mode streams in the mix format.
    case shared
    /// The same with shared-mode streams at 44.1 kHz (float, the mix
    /// format's channels), converted by AUTOCONVERTPCM with
    /// SRC_DEFAULT_QUALITY: the resampler's delay on both sides.
    case sharedResampled = "shared-resampled"

    /// The stream format of a buffered mode (nil: the mix format).
    func streamFormat(mix: WaveFormat) -> WaveFormat? {
        guard self == .sharedResampled else { return nil }
        return WaveFormat(.float32, sampleRate: 44_100, channels: Int(mix.channels), extensible: false)
    }
}

/// A running capture-to-render monitor in one of the ``MonitorMode``s.
/// Control path: create and release it on an ordinary thread.
final class Monitor {
    let mode: MonitorMode
    let inputPortNames: [String]
    let outputPortNames: [String]
    private let callbackStream: InCallbackStream?
    private let bufferedStreams: BufferedMonitor?

    init(mode: MonitorMode, enumerator: MMDeviceEnumerator, capture: MMDevice, render: MMDevice, connect: Bool,
         priority: ThreadPriority = .proAudio) throws {
        self.mode = mode
        switch mode {
        case .callback:
            let stream = try InCallbackStream(enumerator: enumerator, capture: capture, render: render,
                                              autoConnect: connect, name: "monitor", process: InCallbackStream.monitor)
            stream.start()
            (callbackStream, bufferedStreams) = (stream, nil)
            (inputPortNames, outputPortNames) = (stream.inputPortNames, stream.outputPortNames)
        case .exclusive, .shared, .sharedResampled:
            let streams = try BufferedMonitor(mode: mode, enumerator: enumerator,
                                              capture: capture, render: render, connect: connect, priority: priority)
            (callbackStream, bufferedStreams) = (nil, streams)
            (inputPortNames, outputPortNames) = (try streams.capture.portNames(), try streams.render.portNames())
        }
    }

    /// Frames lost because the render buffer was full (buffered modes), so far.
    var droppedFrames: Int { bufferedStreams?.droppedFrames.load(ordering: .relaxed) ?? 0 }

    /// Stops the streams; the monitor is silent afterwards.
    /// - Returns: false when the in-callback stream could not be stopped
    ///   because JACK's cycles are stuck (its function may still run).
    @discardableResult
    func stop() -> Bool {
        let stopped = callbackStream?.stop() ?? true
        bufferedStreams?.stop()
        return stopped
    }
}

/// Two WASAPI streams and the copy thread between them: the application-side
/// monitor a Windows program would write. Each capture event, the thread
/// moves every captured packet into the render buffer at once; the engine
/// raises events only after the whole cycle ran, so the render stream plays
/// it in the next JACK period: one period more than JACK alone.
final class BufferedMonitor: @unchecked Sendable {
    let capture: AudioClient
    let render: AudioClient
    let droppedFrames = Atomic<Int>(0)
    private let captureService: AudioCaptureClient
    private let renderService: AudioRenderClient
    private let event: RealtimeEvent
    private let running = Atomic<Bool>(true)
    private let finished = DispatchSemaphore(value: 0)
    private let captureChannels: Int
    private let renderChannels: Int
    private let renderBufferFrames: Int
    private let renderFormat: WaveFormat

    private let enumerator: MMDeviceEnumerator
    private let priority: ThreadPriority

    init(mode: MonitorMode, enumerator: MMDeviceEnumerator, capture captureDevice: MMDevice, render renderDevice: MMDevice,
         connect: Bool, priority: ThreadPriority) throws {
        (self.enumerator, self.priority) = (enumerator, priority)
        let shareMode: ShareMode = mode == .exclusive ? .exclusive : .shared
        capture = try captureDevice.activateAudioClient()
        render = try renderDevice.activateAudioClient()
        capture.autoConnect = connect
        render.autoConnect = connect
        let captureMix = try capture.getMixFormat(), renderMix = try render.getMixFormat()
        let captureFormat = mode.streamFormat(mix: captureMix) ?? captureMix
        let renderFormat = mode.streamFormat(mix: renderMix) ?? renderMix
        let converting: StreamFlags = mode == .sharedResampled ? [.autoConvertPCM, .srcDefaultQuality] : []
        // Both 0: the smallest buffer the mode allows (exclusive: one period,
        // ping-pong; shared: the engine minimum).
        try capture.initialize(shareMode: shareMode, streamFlags: converting.union(.eventCallback), bufferDuration: 0,
                               format: captureFormat)
        try render.initialize(shareMode: shareMode, streamFlags: converting, bufferDuration: 0, format: renderFormat)
        event = try RealtimeEvent()
        try capture.setEventHandle(event)
        captureService = try capture.getCaptureClient()
        renderService = try render.getRenderClient()
        captureChannels = Int(captureFormat.channels)
        renderChannels = Int(renderFormat.channels)
        self.renderFormat = renderFormat
        renderBufferFrames = try render.getBufferSize()
        try render.start()
        try capture.start()
        // The thread holds the monitor only while it copies, and says it has
        // finished once it let go: the streams (an exclusive one holds its
        // endpoint) are released by whoever drops the monitor last after
        // stop(), never later on this thread (`latency --sweep` met an
        // endpoint still in exclusive use by the route before).
        let thread = Thread { [weak self, finished] in
            self?.copyLoop()
            finished.signal()
        }
        thread.name = "wasapi-jack monitor"
        thread.start()
    }

    /// Stops the copy thread and both streams.
    func stop() {
        // The thread was still copying: it lets go of the monitor, then says so.
        if running.exchange(false, ordering: .acquiringAndReleasing) { finished.wait() }
        _ = try? capture.stop()
        _ = try? render.stop()
    }

    deinit { stop() }

    /// Returns when stopped or after an error; it is then stopped for good
    /// (so a deinit that runs on this thread does not wait for it).
    private func copyLoop() {
        defer { running.store(false, ordering: .releasing) }
        let characteristics = enterProAudio(enumerator, priority)
        defer { try? characteristics?.revert() }
        while running.load(ordering: .acquiring) {
            switch event.wait(timeoutMilliseconds: 200) {
            case .signaled: break
            case .timedOut: continue
            case .failed(let code):
                printToStandardError("wasapi-jack: monitor stopped: waiting for the capture event failed (errno \(code))")
                return

            }
            do {
                while let packet = try captureService.getBuffer() {
                    try forward(packet)
                    try captureService.releaseBuffer(frames: packet.frames)
                }
            } catch {
                printToStandardError("wasapi-jack: monitor stopped: \(error)")
                return
            }
        }
    }

    /// Copies `packet` into the render buffer (output channel `k` from input
    /// `k % inputs`). The render buffer is kept at most one period full: a
    /// late wake-up would otherwise leave a backlog that the rate-matched
    /// streams never drain, one period more latency for good. What does not
    /// fit is dropped (and counted), as a live monitor should.
    private func forward(_ packet: CaptureBuffer) throws(AudioError) {
        let period = try render.getSharedModeEnginePeriod(format: renderFormat).defaultPeriodFrames
        let limit = min(renderBufferFrames, max(period, packet.frames))
        let frames = min(packet.frames, max(0, limit - (try render.getCurrentPadding())))
        if frames < packet.frames { droppedFrames.add(packet.frames - frames, ordering: .relaxed) }
        guard frames > 0 else { return }
        let target = try renderService.getBuffer(frames: frames).bindMemory(to: Float.self)
        let source = packet.data.bindMemory(to: Float.self)
        let silent = packet.flags.contains(.silent)
        for frame in 0..<frames {
            for channel in 0..<renderChannels {
                target[frame * renderChannels + channel] =
                    silent ? 0 : source[frame * captureChannels + channel % captureChannels]
            }
        }
        try renderService.releaseBuffer(frames: frames)
    }
}
