import AudioGraph
import Foundation
import PCM
import Realtime
import SimulatedEngine
import Testing
import WASAPI

/// The audio client's state machine on the simulated engine: one test per
/// HRESULT the audio client returns, the call that must be rejected is
/// rejected with Windows' code, and the client still works afterwards.
/// Cycles run only when a test runs them, so nothing here depends on timing.
///
/// The same rules meet a real server in the integration suites (shared
/// render and capture, exclusive mode, stream control, device invalidation).
@Suite("Audio client state machine (simulated engine)", .timeLimit(.minutes(15)))
struct AudioClientStateTests {
    // MARK: Life cycle

    @Test("AUDCLNT_E_NOT_INITIALIZED: every stream call before Initialize; all of them work after it")
    func notInitialized() throws {
        try withSimulatedEngine { sim, enumerator in
            let client = try enumerator.getDefaultAudioEndpoint(.render, role: .console).activateAudioClient()
            let code = HRESULT.AUDCLNT_E_NOT_INITIALIZED
            let event = try RealtimeEvent()
            expectError(code) { try client.getBufferSize() }
            expectError(code) { try client.getStreamLatency() }
            expectError(code) { try client.getCurrentPadding() }
            expectError(code) { try client.portNames() }
            expectError(code) { try client.start() }
            expectError(code) { try client.stop() }
            expectError(code) { try client.reset() }
            expectError(code) { try client.setEventHandle(event) }
            expectError(code) { try client.getRenderClient() }
            expectError(code) { try client.getCaptureClient() }
            expectError(code) { try client.getClock() }
            expectError(code) { try client.getStreamVolume() }
            expectError(code) { try client.getClockAdjustment() }
            // What needs no stream works before Initialize.
            let mix = try client.getMixFormat()
            #expect(try client.isFormatSupported(.shared, format: mix) == .supported)
            #expect(try client.getDevicePeriod().defaultPeriod == 13_334, "64 frames at 48 kHz, rounded up")

            try client.initialize(shareMode: .shared, streamFlags: [], bufferDuration: 1_000_000, format: mix)
            #expect(try client.getBufferSize() == 48_000 / 10)
            #expect(try client.getCurrentPadding() == 0)
            #expect(try client.portNames().count == 2)
            let render = try client.getRenderClient()
            try writeSilence(render, frames: 64)
            #expect(try client.getCurrentPadding() == 64)
            try client.start()
            #expect(try client.stop() == .S_OK)
        }
    }

    @Test("AUDCLNT_E_ALREADY_INITIALIZED: a second Initialize, whatever its arguments, leaves the first stream as it was")
    func alreadyInitialized() throws {
        try withSimulatedEngine { sim, enumerator in
            let client = try enumerator.getDefaultAudioEndpoint(.render, role: .console).activateAudioClient()
            let mix = try client.getMixFormat()
            try client.initialize(shareMode: .shared, streamFlags: [], bufferDuration: 1_000_000, format: mix)
            let ports = try client.portNames()
            let code = HRESULT.AUDCLNT_E_ALREADY_INITIALIZED
            expectError(code) {
                try client.initialize(shareMode: .shared, streamFlags: [], bufferDuration: 1_000_000, format: mix)
            }
            expectError(code) {
                try client.initialize(shareMode: .shared, streamFlags: [.eventCallback, .autoConvertPCM], bufferDuration: 2_000_000,
                                      format: WaveFormat(.int16, sampleRate: 44_100, channels: 1))
            }
            expectError(code) {
                try client.initializeSharedAudioStream(streamFlags: [], periodInFrames: 64, format: mix)
            }
            // The first stream is untouched: same buffer, same ports, no event needed, render works.
            #expect(try client.getBufferSize() == 4800)
            #expect(try client.portNames() == ports)
            let event = try RealtimeEvent()
            expectError(.AUDCLNT_E_EVENTHANDLE_NOT_EXPECTED) { try client.setEventHandle(event) }
            let render = try client.getRenderClient()
            try writeSilence(render, frames: 4800)
            try client.start()
            #expect(try client.stop() == .S_OK)
        }
    }

    // MARK: Endpoint type

    @Test("AUDCLNT_E_WRONG_ENDPOINT_TYPE: capture client of a render stream, render client of a capture stream, loopback of a capture endpoint")
    func wrongEndpointType() throws {
        try withSimulatedEngine { sim, enumerator in
            let code = HRESULT.AUDCLNT_E_WRONG_ENDPOINT_TYPE

            // A render stream has no capture client; its render client still works.
            let renderDevice = try enumerator.getDefaultAudioEndpoint(.render, role: .console)
            let renderStream = try initializedClient(renderDevice)
            expectError(code) { try renderStream.getCaptureClient() }
            try writeSilence(try renderStream.getRenderClient(), frames: 128)
            #expect(try renderStream.getCurrentPadding() == 128)

            // A capture stream has no render client; its capture client still works.
            let captureDevice = try enumerator.getDefaultAudioEndpoint(.capture, role: .console)
            let captureStream = try initializedClient(captureDevice)
            expectError(code) { try captureStream.getRenderClient() }
            let capture = try captureStream.getCaptureClient()
            try captureStream.start()
            let packet = try nextPacket(capture, sim)
            try capture.releaseBuffer(frames: packet.frames)
            try captureStream.stop()

            // Loopback needs a render endpoint; the same client then initialises as plain capture.
            let loopbackOfCapture = try captureDevice.activateAudioClient()
            let mix = try loopbackOfCapture.getMixFormat()
            expectError(code) {
                try loopbackOfCapture.initialize(shareMode: .shared, streamFlags: [.loopback], bufferDuration: 1_000_000, format: mix)
            }
            try loopbackOfCapture.initialize(shareMode: .shared, streamFlags: [], bufferDuration: 1_000_000, format: mix)
            _ = try loopbackOfCapture.getCaptureClient()

            // A loopback stream on a render endpoint captures: no render client.
            let loopback = try renderDevice.activateAudioClient()
            try loopback.initialize(shareMode: .shared, streamFlags: [.loopback], bufferDuration: 1_000_000, format: mix)
            expectError(code) { try loopback.getRenderClient() }
            _ = try loopback.getCaptureClient()
        }
    }

    // MARK: Formats

    @Test("AUDCLNT_E_UNSUPPORTED_FORMAT: 44.1 kHz or mono without AUTOCONVERTPCM, formats nobody converts; then the mix format works")
    func unsupportedFormat() throws {
        try withSimulatedEngine { sim, enumerator in
            let device = try enumerator.getDefaultAudioEndpoint(.render, role: .console)
            let client = try device.activateAudioClient()
            let code = HRESULT.AUDCLNT_E_UNSUPPORTED_FORMAT
            let cd = WaveFormat(.int16, sampleRate: 44_100, channels: 2, extensible: false)
            let error = expectError(code) {
                try client.initialize(shareMode: .shared, streamFlags: [], bufferDuration: 1_000_000, format: cd)
            }
            #expect(error?.message.contains("AUTOCONVERTPCM") == true, "the message says how to get it accepted")
            expectError(code) {
                try client.initialize(shareMode: .shared, streamFlags: [], bufferDuration: 1_000_000,
                                      format: WaveFormat(.float32, sampleRate: 48_000, channels: 1))
            }
            // IsFormatSupported offers the closest match instead of failing:
            // the mix format itself, as Windows does (not the requested depth).
            #expect(try client.isFormatSupported(.shared, format: cd) == .closestMatch(try client.getMixFormat()))

            // Consistent formats the converter has no kernel for: 64-bit float, an unknown tag, an unknown sub-format.
            let double = WaveFormat(formatTag: .ieeeFloat, channels: 2, samplesPerSecond: 48_000,
                                    averageBytesPerSecond: 48_000 * 16, blockAlign: 16, bitsPerSample: 64)
            let alaw = WaveFormat(formatTag: .init(rawValue: 0x0006), channels: 2, samplesPerSecond: 48_000,
                                  averageBytesPerSecond: 48_000 * 2, blockAlign: 2, bitsPerSample: 8)
            var unknownSubFormat = WaveFormat(.int16, sampleRate: 48_000, channels: 2)
            unknownSubFormat.subFormat = UUID(uuidString: "00000092-0000-0010-8000-00AA00389B71")!
            for format in [double, alaw, unknownSubFormat] {
                expectError(code, "\(format)") { try client.isFormatSupported(.shared, format: format) }
                expectError(code, "\(format)") {
                    try client.initialize(shareMode: .shared, streamFlags: [.autoConvertPCM], bufferDuration: 1_000_000, format: format)
                }
            }

            // With AUTOCONVERTPCM 44.1 kHz is fine on another client; this one takes the mix format.
            let converting = try device.activateAudioClient()
            try converting.initialize(shareMode: .shared, streamFlags: [.autoConvertPCM], bufferDuration: 1_000_000, format: cd)
            #expect(try converting.getBufferSize() >= 4410)
            let mix = try client.getMixFormat()
            try client.initialize(shareMode: .shared, streamFlags: [], bufferDuration: 1_000_000, format: mix)
            try writeSilence(try client.getRenderClient(), frames: 256)
            try client.start()
            try client.stop()
        }
    }

    @Test("E_INVALIDARG: a malformed format, naming the field at fault; then a correct format works")
    func malformedFormat() throws {
        try withSimulatedEngine { sim, enumerator in
            let client = try enumerator.getDefaultAudioEndpoint(.render, role: .console).activateAudioClient()
            let mix = try client.getMixFormat()
            var noChannels = mix
            noChannels.channels = 0
            var noRate = mix
            noRate.samplesPerSecond = 0
            var oddBits = mix
            oddBits.bitsPerSample = 12
            var badBlock = mix
            badBlock.blockAlign = 6
            var badAverage = mix
            badAverage.averageBytesPerSecond = 1000
            var shortExtension = mix
            shortExtension.extraSize = 0
            var tooManyValidBits = WaveFormat(.int16, sampleRate: 48_000, channels: 2)
            tooManyValidBits.validBitsPerSample = 24
            var wrongMask = mix
            wrongMask.channelMask = .defaultMask(forChannels: 6)
            let cases: [(WaveFormat, String)] = [
                (noChannels, "nChannels"), (noRate, "nSamplesPerSec"), (oddBits, "wBitsPerSample"),
                (badBlock, "nBlockAlign"), (badAverage, "nAvgBytesPerSec"), (shortExtension, "cbSize"),
                (tooManyValidBits, "wValidBitsPerSample"),
            ]
            // A mask naming another number of speakers is well formed but
            // unplayable: UNSUPPORTED_FORMAT, as Windows 10 answers.
            expectError(.AUDCLNT_E_UNSUPPORTED_FORMAT) { try client.isFormatSupported(.shared, format: wrongMask) }
            for (format, field) in cases {
                let supported = expectError(.E_INVALIDARG, "\(field)") { try client.isFormatSupported(.shared, format: format) }
                #expect(supported?.message.hasPrefix(field) == true, "\(supported?.message ?? "")")
                let initialize = expectError(.E_INVALIDARG, "\(field)") {
                    try client.initialize(shareMode: .shared, streamFlags: [.autoConvertPCM], bufferDuration: 1_000_000, format: format)
                }
                #expect(initialize?.message.hasPrefix(field) == true, "\(initialize?.message ?? "")")
                expectError(.E_INVALIDARG, "\(field)") { try client.getSharedModeEnginePeriod(format: format) }
            }
            try client.initialize(shareMode: .shared, streamFlags: [], bufferDuration: 1_000_000, format: mix)
            try writeSilence(try client.getRenderClient(), frames: 64)
            #expect(try client.getCurrentPadding() == 64)
        }
    }

    // MARK: Invalid arguments

    @Test("E_INVALIDARG: unknown stream flags, negative durations, a shared period off the engine's grid")
    func invalidInitializeArguments() throws {
        try withSimulatedEngine { sim, enumerator in
            let client = try enumerator.getDefaultAudioEndpoint(.render, role: .console).activateAudioClient()
            let mix = try client.getMixFormat()
            let unknown = expectError(.E_INVALIDARG) {
                try client.initialize(shareMode: .shared, streamFlags: StreamFlags(rawValue: 0x0000_0001), bufferDuration: 1_000_000, format: mix)
            }
            #expect(unknown?.message.contains("0x1") == true, "\(unknown?.message ?? "")")
            expectError(.E_INVALIDARG) {
                try client.initialize(shareMode: .shared, streamFlags: [.eventCallback, StreamFlags(rawValue: 0x0100_0000)],
                                      bufferDuration: 1_000_000, format: mix)
            }
            expectError(.E_INVALIDARG) {
                try client.initialize(shareMode: .shared, streamFlags: [], bufferDuration: -1, format: mix)
            }
            expectError(.E_INVALIDARG) {
                try client.initialize(shareMode: .shared, streamFlags: [], bufferDuration: 1_000_000, periodicity: -1, format: mix)
            }
            // IAudioClient3: the period must be a multiple of 64 frames between 64 and 1024.
            let periods = try client.getSharedModeEnginePeriod(format: mix)
            #expect(periods.fundamentalPeriodFrames == 64)
            #expect(periods.minimumPeriodFrames == 64)
            #expect(periods.maximumPeriodFrames == 1024)
            for period in [0, 32, 100, 1088] {
                expectError(.E_INVALIDARG, "period \(period)") {
                    try client.initializeSharedAudioStream(streamFlags: [.eventCallback], periodInFrames: period, format: mix)
                }
            }
            // Nothing stuck: the client initialises with valid arguments.
            try client.initializeSharedAudioStream(streamFlags: [.eventCallback], periodInFrames: 128, format: mix)
            let event = try RealtimeEvent()
            try client.setEventHandle(event)
            try writeSilence(try client.getRenderClient(), frames: 128)
            try client.start()
            sim.runCycles(1)
            #expect(event.wait(timeoutMilliseconds: 0) == .timedOut, "a 128-frame period is two 64-frame cycles")
            sim.runCycles(1)
            #expect(event.wait(timeoutMilliseconds: 0) == .signaled)
            try client.stop()
        }
    }

    @Test("E_INVALIDARG: stream volume out of range, the wrong number of levels, a channel that does not exist; levels unchanged")
    func invalidVolume() throws {
        try withSimulatedEngine { sim, enumerator in
            let client = try initializedClient(try enumerator.getDefaultAudioEndpoint(.render, role: .console))
            let volume = try client.getStreamVolume()
            #expect(try volume.getChannelCount() == 2)
            try volume.setAllVolumes([0.25, 0.5])
            for levels: [Float] in [[1.5, 0.5], [-0.1, 0.5], [0.5, .nan], [0.5], [0.5, 0.5, 0.5], []] {
                expectError(.E_INVALIDARG, "\(levels)") { try volume.setAllVolumes(levels) }
            }
            expectError(.E_INVALIDARG) { try volume.setChannelVolume(0, level: 1.01) }
            expectError(.E_INVALIDARG) { try volume.setChannelVolume(1, level: -1) }
            expectError(.E_INVALIDARG) { try volume.setChannelVolume(2, level: 0.5) }
            expectError(.E_INVALIDARG) { try volume.setChannelVolume(-1, level: 0.5) }
            expectError(.E_INVALIDARG) { try volume.getChannelVolume(2) }
            // The rejected calls changed nothing; valid ones still apply.
            #expect(try volume.getAllVolumes() == [0.25, 0.5])
            try volume.setChannelVolume(1, level: 1)
            #expect(try volume.getChannelVolume(1) == 1)
            #expect(try volume.getAllVolumes() == [0.25, 1])
        }
    }

    @Test("E_INVALIDARG: a clock-adjustment rate the resampler cannot reach; a reachable one is accepted")
    func invalidSampleRate() throws {
        try withSimulatedEngine { sim, enumerator in
            let client = try initializedClient(try enumerator.getDefaultAudioEndpoint(.render, role: .console), flags: [.rateAdjust])
            let adjustment = try client.getClockAdjustment()
            for rate: Double in [0, -48_000, .nan, .infinity, 48_000.0 / 300, 48_000.0 * 300] {
                expectError(.E_INVALIDARG, "\(rate) Hz") { try adjustment.setSampleRate(rate) }
            }
            try adjustment.setSampleRate(48_100)
            try writeSilence(try client.getRenderClient(), frames: 256)
            try client.start()
            try client.stop()
        }
    }

    @Test("AUDCLNT_E_UNSUPPORTED_FORMAT: RATEADJUST in exclusive mode (Microsoft's IAudioClockAdjustment documentation); the same stream without it initializes")
    func exclusiveRateAdjust() throws {
        try withSimulatedEngine { _, enumerator in
            let client = try enumerator.getDefaultAudioEndpoint(.render, role: .console).activateAudioClient()
            let mix = try client.getMixFormat()
            let period = try client.getDevicePeriod().minimumPeriod
            expectError(.AUDCLNT_E_UNSUPPORTED_FORMAT) {
                try client.initialize(shareMode: .exclusive, streamFlags: [.rateAdjust], bufferDuration: period,
                                      periodicity: period, format: mix)
            }
            try client.initialize(shareMode: .exclusive, streamFlags: [], bufferDuration: period, periodicity: period, format: mix)
            expectError(.E_INVALIDARG) { try client.getClockAdjustment() }
        }
    }

    // MARK: Render buffer

    @Test("AUDCLNT_E_INVALID_SIZE: render ReleaseBuffer of more than GetBuffer gave; the buffer stays pending")
    func renderInvalidSize() throws {
        try withSimulatedEngine { sim, enumerator in
            let client = try initializedClient(try enumerator.getDefaultAudioEndpoint(.render, role: .console))
            let render = try client.getRenderClient()
            _ = try render.getBuffer(frames: 100)
            expectError(.AUDCLNT_E_INVALID_SIZE) { try render.releaseBuffer(frames: 101) }
            expectError(.AUDCLNT_E_INVALID_SIZE) { try render.releaseBuffer(frames: -1) }
            #expect(try client.getCurrentPadding() == 0, "nothing was queued by the rejected releases")
            // The GetBuffer is still pending: a second one is out of order, a correct release queues.
            expectError(.AUDCLNT_E_OUT_OF_ORDER) { try render.getBuffer(frames: 1) }
            try render.releaseBuffer(frames: 60)
            #expect(try client.getCurrentPadding() == 60, "fewer frames than requested may be released")
            try writeSilence(render, frames: 40)
            #expect(try client.getCurrentPadding() == 100)
        }
    }

    @Test("AUDCLNT_E_BUFFER_TOO_LARGE: GetBuffer of more than the free space; exactly the free space works")
    func bufferTooLarge() throws {
        try withSimulatedEngine { sim, enumerator in
            let client = try initializedClient(try enumerator.getDefaultAudioEndpoint(.render, role: .console))
            let render = try client.getRenderClient()
            let size = try client.getBufferSize()
            expectError(.AUDCLNT_E_BUFFER_TOO_LARGE) { try render.getBuffer(frames: size + 1) }
            try writeSilence(render, frames: 1000)
            expectError(.AUDCLNT_E_BUFFER_TOO_LARGE) { try render.getBuffer(frames: size - 1000 + 1) }
            expectError(.E_INVALIDARG) { try render.getBuffer(frames: -1) }
            // No buffer is pending after the rejections: a release of frames is out of order, a get of the free space works.
            expectError(.AUDCLNT_E_OUT_OF_ORDER) { try render.releaseBuffer(frames: 1) }
            let buffer = try render.getBuffer(frames: size - 1000)
            #expect(buffer.count == (size - 1000) * 8)
            try render.releaseBuffer(frames: size - 1000)
            #expect(try client.getCurrentPadding() == size)
            expectError(.AUDCLNT_E_BUFFER_TOO_LARGE) { try render.getBuffer(frames: 1) }
            _ = try render.getBuffer(frames: 0)
            try render.releaseBuffer(frames: 0)
        }
    }

    @Test("AUDCLNT_E_OUT_OF_ORDER (render): ReleaseBuffer without GetBuffer, GetBuffer twice")
    func renderOutOfOrder() throws {
        try withSimulatedEngine { sim, enumerator in
            let client = try initializedClient(try enumerator.getDefaultAudioEndpoint(.render, role: .console))
            let render = try client.getRenderClient()
            try render.releaseBuffer(frames: 0)  // 0 with nothing held: S_OK, as on Windows
            expectError(.AUDCLNT_E_OUT_OF_ORDER) { try render.releaseBuffer(frames: 10) }
            let first = try render.getBuffer(frames: 10).bindMemory(to: Float.self)
            first.initialize(repeating: 0.25)
            expectError(.AUDCLNT_E_OUT_OF_ORDER) { try render.getBuffer(frames: 10) }
            try render.releaseBuffer(frames: 10)
            #expect(try client.getCurrentPadding() == 10)
            expectError(.AUDCLNT_E_OUT_OF_ORDER) { try render.releaseBuffer(frames: 10) }
            try writeSilence(render, frames: 10)
            #expect(try client.getCurrentPadding() == 20)
        }
    }

    // MARK: Capture buffer

    @Test("AUDCLNT_E_OUT_OF_ORDER (capture): ReleaseBuffer without GetBuffer, GetBuffer twice")
    func captureOutOfOrder() throws {
        try withSimulatedEngine { sim, enumerator in
            let client = try initializedClient(try enumerator.getDefaultAudioEndpoint(.capture, role: .console))
            let capture = try client.getCaptureClient()
            try capture.releaseBuffer(frames: 0)  // 0 with nothing held: S_OK, as on Windows
            expectError(.AUDCLNT_E_OUT_OF_ORDER) { try capture.releaseBuffer(frames: 1) }
            try client.start()
            let packet = try nextPacket(capture, sim)
            expectError(.AUDCLNT_E_OUT_OF_ORDER) { try capture.getBuffer() }
            try capture.releaseBuffer(frames: packet.frames)
            expectError(.AUDCLNT_E_OUT_OF_ORDER) { try capture.releaseBuffer(frames: packet.frames) }
            // The next packet follows the released one.
            let next = try nextPacket(capture, sim)
            #expect(next.devicePosition == packet.devicePosition + UInt64(packet.frames))
            try capture.releaseBuffer(frames: next.frames)
            try client.stop()
        }
    }

    @Test("AUDCLNT_E_INVALID_SIZE (capture): ReleaseBuffer of a count other than 0 or the packet size; 0 keeps the packet")
    func captureInvalidSize() throws {
        try withSimulatedEngine { sim, enumerator in
            let client = try initializedClient(try enumerator.getDefaultAudioEndpoint(.capture, role: .console))
            let capture = try client.getCaptureClient()
            try client.start()
            let packet = try nextPacket(capture, sim)
            #expect(packet.frames == 64, "one packet per JACK period")
            for count in [1, packet.frames - 1, packet.frames + 1, -1] {
                expectError(.AUDCLNT_E_INVALID_SIZE, "\(count) frames") { try capture.releaseBuffer(frames: count) }
            }
            // Still pending after the rejections; 0 releases it and keeps the packet.
            expectError(.AUDCLNT_E_OUT_OF_ORDER) { try capture.getBuffer() }
            try capture.releaseBuffer(frames: 0)
            #expect(try capture.getNextPacketSize() == packet.frames)
            let again = try #require(try capture.getBuffer())
            #expect(again.devicePosition == packet.devicePosition, "the same packet is returned again")
            #expect(again.frames == packet.frames)
            try capture.releaseBuffer(frames: again.frames)
            let next = try nextPacket(capture, sim)
            #expect(next.devicePosition == packet.devicePosition + UInt64(packet.frames))
            try capture.releaseBuffer(frames: next.frames)
            try client.stop()
        }
    }

    @Test("AUDCLNT_S_BUFFER_EMPTY: capture GetBuffer returns nil and GetNextPacketSize 0 when nothing was captured")
    func bufferEmpty() throws {
        try withSimulatedEngine { sim, enumerator in
            let client = try initializedClient(try enumerator.getDefaultAudioEndpoint(.capture, role: .console))
            let capture = try client.getCaptureClient()
            #expect(try capture.getNextPacketSize() == 0)
            #expect(try capture.getBuffer() == nil)
            // An empty GetBuffer leaves nothing pending.
            expectError(.AUDCLNT_E_OUT_OF_ORDER) { try capture.releaseBuffer(frames: 1) }
            #expect(try capture.getBuffer() == nil)
            // Once started, packets arrive; stopped and reset, it is empty again.
            try client.start()
            let packet = try nextPacket(capture, sim)
            try capture.releaseBuffer(frames: packet.frames)
            try client.stop()
            #expect(try client.reset() == .S_OK)
            #expect(try capture.getNextPacketSize() == 0)
            #expect(try capture.getBuffer() == nil)
            #expect(try client.getCurrentPadding() == 0)
        }
    }

    // MARK: Control

    @Test("AUDCLNT_E_NOT_STOPPED: Start twice, Reset while running; Stop, Reset and Start again work")
    func notStopped() throws {
        try withSimulatedEngine { sim, enumerator in
            let client = try initializedClient(try enumerator.getDefaultAudioEndpoint(.render, role: .console))
            let render = try client.getRenderClient()
            try writeSilence(render, frames: 512)
            try client.start()
            expectError(.AUDCLNT_E_NOT_STOPPED) { try client.start() }
            expectError(.AUDCLNT_E_NOT_STOPPED) { try client.reset() }
            // Still running: the engine keeps consuming the buffer.
            sim.runCycles(until: { (try? client.getCurrentPadding()) == 0 })
            #expect(try client.getCurrentPadding() == 0)
            #expect(try client.stop() == .S_OK)
            #expect(try client.reset() == .S_OK, "the position moved, so there was something to reset")
            try writeSilence(render, frames: 64)
            try client.start()
            #expect(try client.stop() == .S_OK)
        }
    }

    @Test("S_FALSE: Stop of a stopped stream; Reset is S_OK even with nothing to reset (native Windows)")
    func sFalse() throws {
        try withSimulatedEngine { sim, enumerator in
            let client = try initializedClient(try enumerator.getDefaultAudioEndpoint(.render, role: .console))
            #expect(try client.stop() == .S_FALSE, "never started")
            #expect(try client.reset() == .S_OK, "nothing queued, position 0: still S_OK")
            let render = try client.getRenderClient()
            try writeSilence(render, frames: 100)
            #expect(try client.reset() == .S_OK, "100 frames were queued")
            #expect(try client.getCurrentPadding() == 0)
            #expect(try client.reset() == .S_OK)
            try writeSilence(render, frames: 100)
            try client.start()
            #expect(try client.stop() == .S_OK)
            #expect(try client.stop() == .S_FALSE, "already stopped")
            try client.start()
            #expect(try client.stop() == .S_OK)
        }
    }

    @Test("AUDCLNT_E_EVENTHANDLE_NOT_SET: Start of an event-driven stream without an event; with one it runs and signals")
    func eventHandleNotSet() throws {
        try withSimulatedEngine { sim, enumerator in
            let client = try initializedClient(try enumerator.getDefaultAudioEndpoint(.render, role: .console), flags: [.eventCallback])
            try writeSilence(try client.getRenderClient(), frames: 256)
            expectError(.AUDCLNT_E_EVENTHANDLE_NOT_SET) { try client.start() }
            #expect(try client.stop() == .S_FALSE, "the rejected Start did not start the stream")
            let event = try RealtimeEvent()
            try client.setEventHandle(event)
            try client.start()
            sim.runCycles(1)
            #expect(event.wait(timeoutMilliseconds: 0) == .signaled)
            #expect(try client.stop() == .S_OK)
        }
    }

    @Test("AUDCLNT_E_EVENTHANDLE_NOT_EXPECTED: SetEventHandle on a stream without EVENTCALLBACK; it still runs timer-driven")
    func eventHandleNotExpected() throws {
        try withSimulatedEngine { sim, enumerator in
            let client = try initializedClient(try enumerator.getDefaultAudioEndpoint(.render, role: .console))
            let event = try RealtimeEvent()
            expectError(.AUDCLNT_E_EVENTHANDLE_NOT_EXPECTED) { try client.setEventHandle(event) }
            try writeSilence(try client.getRenderClient(), frames: 256)
            try client.start()
            sim.runCycles(until: { (try? client.getCurrentPadding()) == 0 })
            #expect(try client.getCurrentPadding() == 0, "the engine consumed the frames")
            #expect(event.wait(timeoutMilliseconds: 0) == .timedOut, "the rejected event is never signalled")
            #expect(try client.stop() == .S_OK)
        }
    }

    @Test("AUDCLNT_E_BUFFER_OPERATION_PENDING: Reset between GetBuffer and ReleaseBuffer (render and capture)")
    func bufferOperationPending() throws {
        try withSimulatedEngine { sim, enumerator in
            let client = try initializedClient(try enumerator.getDefaultAudioEndpoint(.render, role: .console))
            let render = try client.getRenderClient()
            try writeSilence(render, frames: 50)
            _ = try render.getBuffer(frames: 100)
            expectError(.AUDCLNT_E_BUFFER_OPERATION_PENDING) { try client.reset() }
            // The rejected Reset emptied nothing and left the buffer pending.
            #expect(try client.getCurrentPadding() == 50)
            try render.releaseBuffer(frames: 100)
            #expect(try client.getCurrentPadding() == 150)
            #expect(try client.reset() == .S_OK)
            #expect(try client.getCurrentPadding() == 0)

            let captureClient = try initializedClient(try enumerator.getDefaultAudioEndpoint(.capture, role: .console))
            let capture = try captureClient.getCaptureClient()
            try captureClient.start()
            let packet = try nextPacket(capture, sim)
            try captureClient.stop()
            expectError(.AUDCLNT_E_BUFFER_OPERATION_PENDING) { try captureClient.reset() }
            try capture.releaseBuffer(frames: packet.frames)
            #expect(try captureClient.reset() == .S_OK)
            #expect(try captureClient.getCurrentPadding() == 0)
            #expect(try capture.getBuffer() == nil)
        }
    }

    // MARK: Buffer size, services, share mode

    @Test("AUDCLNT_E_BUFFER_SIZE_ERROR: a 30 s buffer; the client then initialises with 100 ms")
    func bufferSizeError() throws {
        try withSimulatedEngine { sim, enumerator in
            let client = try enumerator.getDefaultAudioEndpoint(.render, role: .console).activateAudioClient()
            let mix = try client.getMixFormat()
            expectError(.AUDCLNT_E_BUFFER_SIZE_ERROR) {
                try client.initialize(shareMode: .shared, streamFlags: [], bufferDuration: 300_000_000, format: mix)
            }
            expectError(.AUDCLNT_E_NOT_INITIALIZED) { try client.getBufferSize() }
            try client.initialize(shareMode: .shared, streamFlags: [], bufferDuration: 1_000_000, format: mix)
            #expect(try client.getBufferSize() == 4800)
            try writeSilence(try client.getRenderClient(), frames: 4800)
        }
    }

    @Test("E_INVALIDARG: GetService(IAudioClockAdjustment) without RATEADJUST (native Windows); other services still work")
    func noInterface() throws {
        try withSimulatedEngine { sim, enumerator in
            let device = try enumerator.getDefaultAudioEndpoint(.render, role: .console)
            let client = try initializedClient(device)
            expectError(.E_INVALIDARG) { try client.getClockAdjustment() }
            #expect(try client.getClock().getFrequency() == 48_000 * 8)
            #expect(try client.getStreamVolume().getChannelCount() == 2)
            try writeSilence(try client.getRenderClient(), frames: 64)
            let adjusting = try initializedClient(device, flags: [.rateAdjust])
            try adjusting.getClockAdjustment().setSampleRate(47_900)
        }
    }

}

/// Runs `body` with a fresh simulated graph (48 kHz, 64-frame period, 2
/// capture and 2 playback ports) and an enumerator on it.
func withSimulatedEngine<Result>(_ body: (SimulatedAudioEngine, MMDeviceEnumerator) throws -> Result) throws -> Result {
    let sim = SimulatedAudioEngine()
    let enumerator = MMDeviceEnumerator(engine: sim)
    return try body(sim, enumerator)
}

extension SimulatedAudioEngine {
    /// Runs cycles until `condition` holds, at most `limit` of them.
    func runCycles(until condition: () -> Bool, limit: Int = 1000) {
        var ran = 0
        while !condition() && ran < limit {
            runCycles(1)
            ran += 1
        }
    }
}

/// Runs cycles until a packet is captured (at most 100) and returns it, not yet released.
func nextPacket(_ capture: AudioCaptureClient, _ sim: SimulatedAudioEngine) throws -> CaptureBuffer {
    sim.runCycles(until: { (try? capture.getNextPacketSize()).map { $0 > 0 } ?? true }, limit: 100)
    return try #require(try capture.getBuffer(), "no packet was captured in 100 cycles")
}
