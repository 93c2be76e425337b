import Foundation
import JackEngine
import JackTestSupport
import Realtime
import Synchronization
import Testing
import WASAPI

/// What the contract test's process function saw, behind its context pointer.
struct ContractObservations: ~Copyable {
    let cycles = Atomic<Int>(0)
    let wrongShapes = Atomic<Int>(0)
    let positionGaps = Atomic<Int>(0)
    let nextPosition = Atomic<UInt64>(0)
}

/// A process function that writes 0.25 to every output and checks each cycle
/// against the contract: the period, the port counts, the JACK client, a
/// contiguous position.
let contractProcessFunction: InCallbackStream.Function = { cycle, context in
    let seen = context!.assumingMemoryBound(to: ContractObservations.self)
    let shape = cycle.pointee
    if shape.frames != 64 || shape.input_count != 2 || shape.output_count != 2 || shape.sample_rate != 48_000
        || shape.inputs == nil || shape.outputs == nil || shape.jack_client == nil {
        seen.pointee.wrongShapes.add(1, ordering: .relaxed)
    }
    if seen.pointee.nextPosition.load(ordering: .relaxed) != shape.frame_position {
        seen.pointee.positionGaps.add(1, ordering: .relaxed)
    }
    seen.pointee.nextPosition.store(shape.frame_position + UInt64(shape.frames), ordering: .relaxed)
    for channel in 0..<Int(shape.output_count) {
        for frame in 0..<Int(shape.frames) { shape.outputs![channel][frame] = 0.25 }
    }
    seen.pointee.cycles.add(1, ordering: .releasing)
}

@Suite("In-callback streams", .timeLimit(.minutes(15)))
struct InCallbackStreamTests {
    /// A render stream's counter goes through the monitor and out to the
    /// endpoint, where a loopback capture records it: every frame arrives,
    /// in order, unchanged. All in this process's one JACK client. The
    /// source plays the counter on the left and its negation on the right;
    /// with one input the monitor takes the left only and feeds it to both
    /// outputs.
    @Test("the monitor passes a 100,000-frame counter bit-exact from a stream to the endpoint",
          arguments: [2, 1])
    func monitorIsBitExact(inputs: Int) async throws {
        try await withJackServer { server in
            let enumerator = try MMDeviceEnumerator(serverName: server.name)
            let device = try enumerator.getDefaultAudioEndpoint(.render, role: .console)
            let source = try device.activateAudioClient()
            source.autoConnect = false
            let mix = try source.getMixFormat()
            try source.initialize(shareMode: .shared, streamFlags: [.eventCallback], bufferDuration: 200_000, format: mix)
            let monitor = try InCallbackStream(enumerator: enumerator, inputChannels: inputs, outputChannels: 2,
                                               process: InCallbackStream.monitor)
            try monitor.connectInputs(from: try source.portNames())
            let endpoint = device
            try monitor.connectOutputs(to: endpoint.portNames)
            monitor.start()

            let loopback = try device.activateAudioClient()
            try loopback.initialize(shareMode: .shared, streamFlags: [.loopback], bufferDuration: 50_000_000, format: mix)
            let recording = LoopbackRecording(try loopback.getCaptureClient())
            try loopback.start()
            let event = try RealtimeEvent()
            try source.setEventHandle(event)
            let render = try source.getRenderClient()
            let bufferFrames = try source.getBufferSize()
            let total = 100_000
            let counter = CounterSource(total: total)
            try source.start()
            let feeder = StreamThread {
                guard event.wait(timeoutMilliseconds: 2000) == .signaled,
                      let padding = try? source.getCurrentPadding() else { return false }
                return (try? counter.fill(render, frames: bufferFrames - padding)) ?? false
            }
            let deadline = ContinuousClock.now + .seconds(60)
            while try recording.drain() < total + 4800 && ContinuousClock.now < deadline {
                try await pause(for: .milliseconds(20))
            }
            feeder.stop()
            monitor.stop()

            let left = recording.channel(0), right = recording.channel(1)
            let values = left.filter { $0 != 0 }
            #expect(values.count == total, "frames delivered: \(values.count)")
            #expect(values.enumerated().allSatisfy { $0.element == Float($0.offset + 1) }, "lost, repeated or reordered")
            if inputs == 2 {
                #expect(zip(left, right).allSatisfy { $0 == -$1 }, "the right channel mirrors the left")
            } else {
                #expect(left == right, "the one input feeds both outputs")
            }
            #expect(monitor.framePosition > UInt64(total))
        }
    }

    @Test("the process function gets the period, its ports and a contiguous position; stop() silences the outputs")
    func processFunctionContract() async throws {
        try await withJackServer { server in
            let enumerator = try MMDeviceEnumerator(serverName: server.name)
            let render = try enumerator.getDefaultAudioEndpoint(.render, role: .console)
            let capture = try enumerator.getDefaultAudioEndpoint(.capture, role: .console)
            let observations = RealtimeBox(ContractObservations())
            let stream = try InCallbackStream(enumerator: enumerator, capture: capture, render: render,
                                              process: contractProcessFunction,
                                              context: UnsafeMutableRawPointer(observations.pointer))
            let loopback = try render.activateAudioClient()
            try loopback.initialize(shareMode: .shared, streamFlags: [.loopback], bufferDuration: 50_000_000,
                                    format: try loopback.getMixFormat())
            let recording = LoopbackRecording(try loopback.getCaptureClient())
            try loopback.start()
            #expect(observations.pointer.pointee.cycles.load(ordering: .acquiring) == 0, "ran before start()")

            stream.start()
            try await pause(for: .milliseconds(500))
            stream.stop()
            let cycles = observations.pointer.pointee.cycles.load(ordering: .acquiring)
            let heard = try recording.drain()
            try await pause(for: .milliseconds(300))
            #expect(observations.pointer.pointee.cycles.load(ordering: .acquiring) == cycles, "ran after stop()")
            _ = try recording.drain()

            #expect(cycles > 100, "cycles: \(cycles)")
            #expect(observations.pointer.pointee.wrongShapes.load(ordering: .relaxed) == 0)
            #expect(observations.pointer.pointee.positionGaps.load(ordering: .relaxed) == 0)
            #expect(stream.framePosition == UInt64(cycles * 64))
            let left = recording.channel(0)
            #expect(left.prefix(heard).filter { $0 == 0.25 }.count >= cycles * 64 - 2 * 64,
                    "the endpoint carried what the function wrote")
            #expect(left.dropFirst(heard + 128).allSatisfy { $0 == 0 }, "silence after stop()")
        }
    }

    @Test("JACK's latencies pass through the stream unchanged, as jack_lsp -l shows them")
    func latencyPassesThrough() async throws {
        try await withJackServer { server in
            let enumerator = try MMDeviceEnumerator(serverName: server.name)
            let render = try enumerator.getDefaultAudioEndpoint(.render, role: .console)
            let capture = try enumerator.getDefaultAudioEndpoint(.capture, role: .console)
            let stream = try InCallbackStream(enumerator: enumerator, capture: capture, render: render,
                                              process: InCallbackStream.monitor)
            let client = try JackAudioEngine.shared(serverName: server.name).client
            let systemCapture = try #require(client.port(named: capture.portNames[0]))
            let systemPlayback = try #require(client.port(named: render.portNames[0]))
            let input = try #require(client.port(named: stream.inputPortNames[0]))
            let output = try #require(client.port(named: stream.outputPortNames[0]))
            let captureLatency = client.latencyRange(of: systemCapture, playback: false)
            let playbackLatency = client.latencyRange(of: systemPlayback, playback: true)
            #expect(captureLatency.upperBound > 0 && playbackLatency.upperBound > 0,
                    "the dummy backend reports latencies: \(captureLatency), \(playbackLatency)")
            var passed = false
            for _ in 0..<100 where !passed {
                passed = client.latencyRange(of: output, playback: false) == captureLatency
                    && client.latencyRange(of: input, playback: true) == playbackLatency
                if !passed { try await pause(for: .milliseconds(20)) }
            }
            let seen = (client.latencyRange(of: output, playback: false), client.latencyRange(of: input, playback: true))
            #expect(passed, "output capture / input playback latency \(seen) vs \((captureLatency, playbackLatency))")
        }
    }

    @Test("bad arguments: E_INVALIDARG, and the process can still open a stream")
    func badArguments() async throws {
        try await withJackServer { server in
            let enumerator = try MMDeviceEnumerator(serverName: server.name)
            let render = try enumerator.getDefaultAudioEndpoint(.render, role: .console)
            let capture = try enumerator.getDefaultAudioEndpoint(.capture, role: .console)
            expectCode(.E_INVALIDARG) {
                _ = try InCallbackStream(enumerator: enumerator, inputChannels: 0, outputChannels: 0,
                                         process: InCallbackStream.monitor)
            }
            expectCode(.E_INVALIDARG) {
                _ = try InCallbackStream(enumerator: enumerator, inputChannels: -1, outputChannels: 2,
                                         process: InCallbackStream.monitor)
            }
            expectCode(.E_INVALIDARG) {
                _ = try InCallbackStream(enumerator: enumerator, capture: render, render: capture,
                                         process: InCallbackStream.monitor)
            }
            let stream = try InCallbackStream(enumerator: enumerator, inputChannels: 1, outputChannels: 1,
                                              process: InCallbackStream.monitor)
            expectCode(.E_INVALIDARG) { try stream.connectInputs(from: ["no-such:port"]) }
            try stream.connectInputs(from: [capture.portNames[0]])
            #expect(stream.inputPortNames.count == 1 && stream.outputPortNames.count == 1)
        }
    }
}
