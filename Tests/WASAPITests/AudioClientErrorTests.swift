import AudioGraph
import Foundation
import JackEngine
import JackTestSupport
import PCM
import Realtime
import Testing
import WASAPI

/// One test per HRESULT the audio client returns: the call that must be
/// rejected is rejected with Windows' code, and the client still works
/// afterwards (a rejected call leaves it as it was).
///
/// Every JACK test runs against a private jackd (48 kHz, 64-frame period,
/// 2 capture and 2 playback ports) started by `withJackServer`.
@Suite("Audio client error codes")
struct AudioClientErrorTests {
    // MARK: HRESULT values

    @Test("HRESULT constants carry Windows' values")
    func hresultValues() {
        let table: [(HRESULT, UInt32)] = [
            (.S_OK, 0x0000_0000),
            (.S_FALSE, 0x0000_0001),
            (.E_NOINTERFACE, 0x8000_4002),
            (.E_INVALIDARG, 0x8007_0057),
            (.E_OUTOFMEMORY, 0x8007_000E),
            (.E_NOTFOUND, 0x8007_0490),
            (.AUDCLNT_E_NOT_INITIALIZED, 0x8889_0001),
            (.AUDCLNT_E_ALREADY_INITIALIZED, 0x8889_0002),
            (.AUDCLNT_E_WRONG_ENDPOINT_TYPE, 0x8889_0003),
            (.AUDCLNT_E_DEVICE_INVALIDATED, 0x8889_0004),
            (.AUDCLNT_E_NOT_STOPPED, 0x8889_0005),
            (.AUDCLNT_E_BUFFER_TOO_LARGE, 0x8889_0006),
            (.AUDCLNT_E_OUT_OF_ORDER, 0x8889_0007),
            (.AUDCLNT_E_UNSUPPORTED_FORMAT, 0x8889_0008),
            (.AUDCLNT_E_INVALID_SIZE, 0x8889_0009),
            (.AUDCLNT_E_BUFFER_OPERATION_PENDING, 0x8889_000B),
            (.AUDCLNT_E_EXCLUSIVE_MODE_NOT_ALLOWED, 0x8889_000E),
            (.AUDCLNT_E_SERVICE_NOT_RUNNING, 0x8889_0010),
            (.AUDCLNT_E_EVENTHANDLE_NOT_EXPECTED, 0x8889_0011),
            (.AUDCLNT_E_EVENTHANDLE_NOT_SET, 0x8889_0014),
            (.AUDCLNT_E_BUFFER_SIZE_ERROR, 0x8889_0016),
            (.AUDCLNT_S_BUFFER_EMPTY, 0x0889_0001),
        ]
        for (code, windows) in table {
            #expect(code.rawValue == Int32(bitPattern: windows), "\(code)")
            #expect(code.isSuccess == (windows & 0x8000_0000 == 0), "\(code)")
        }
        #expect(HRESULT.AUDCLNT_E_UNSUPPORTED_FORMAT.rawValue == Int32(bitPattern: 0x8889_0008))
        #expect(HRESULT.AUDCLNT_E_UNSUPPORTED_FORMAT.description == "AUDCLNT_E_UNSUPPORTED_FORMAT (0x88890008)")
        // The codes are distinct: comparing by code can tell them apart.
        #expect(Set(table.map(\.0)).count == table.count)
    }

    // MARK: Life cycle

    @Test("AUDCLNT_E_NOT_INITIALIZED: every stream call before Initialize; all of them work after it")
    func notInitialized() async throws {
        try await withJackServer { server in
            let enumerator = try MMDeviceEnumerator(serverName: server.name)
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
    func alreadyInitialized() async throws {
        try await withJackServer { server in
            let enumerator = try MMDeviceEnumerator(serverName: server.name)
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
    func wrongEndpointType() async throws {
        try await withJackServer { server in
            let enumerator = try MMDeviceEnumerator(serverName: server.name)
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
            let packet = try await nextPacket(capture)
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
    func unsupportedFormat() async throws {
        try await withJackServer { server in
            let enumerator = try MMDeviceEnumerator(serverName: server.name)
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
            // IsFormatSupported offers the closest match instead of failing.
            #expect(try client.isFormatSupported(.shared, format: cd)
                == .closestMatch(WaveFormat(.int16, sampleRate: 48_000, channels: 2, extensible: true)))

            // Consistent formats the converter has no kernel for: 64-bit float, an unknown tag, an unknown sub-format.
            let double = WaveFormat(formatTag: .ieeeFloat, channels: 2, samplesPerSecond: 48_000,
                                    averageBytesPerSecond: 48_000 * 16, blockAlign: 16, bitsPerSample: 64)
            let alaw = WaveFormat(formatTag: .init(rawValue: 0x0006), channels: 2, samplesPerSecond: 48_000,
                                  averageBytesPerSecond: 48_000 * 2, blockAlign: 2, bitsPerSample: 8)
            var unknownSubFormat = WaveFormat(.int16, sampleRate: 48_000, channels: 2)
            unknownSubFormat.subFormat = GUID(0x0000_0092, 0x0000, 0x0010, [0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71])
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
    func malformedFormat() async throws {
        try await withJackServer { server in
            let enumerator = try MMDeviceEnumerator(serverName: server.name)
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
                (tooManyValidBits, "wValidBitsPerSample"), (wrongMask, "dwChannelMask"),
            ]
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
    func invalidInitializeArguments() async throws {
        try await withJackServer { server in
            let enumerator = try MMDeviceEnumerator(serverName: server.name)
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
            #expect(event.wait(timeoutMilliseconds: 2000) == .signaled)
            try client.stop()
        }
    }

    @Test("E_INVALIDARG: stream volume out of range, the wrong number of levels, a channel that does not exist; levels unchanged")
    func invalidVolume() async throws {
        try await withJackServer { server in
            let enumerator = try MMDeviceEnumerator(serverName: server.name)
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
    func invalidSampleRate() async throws {
        try await withJackServer { server in
            let enumerator = try MMDeviceEnumerator(serverName: server.name)
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

    // MARK: Render buffer

    @Test("AUDCLNT_E_INVALID_SIZE: render ReleaseBuffer of more than GetBuffer gave; the buffer stays pending")
    func renderInvalidSize() async throws {
        try await withJackServer { server in
            let enumerator = try MMDeviceEnumerator(serverName: server.name)
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
    func bufferTooLarge() async throws {
        try await withJackServer { server in
            let enumerator = try MMDeviceEnumerator(serverName: server.name)
            let client = try initializedClient(try enumerator.getDefaultAudioEndpoint(.render, role: .console))
            let render = try client.getRenderClient()
            let size = try client.getBufferSize()
            expectError(.AUDCLNT_E_BUFFER_TOO_LARGE) { try render.getBuffer(frames: size + 1) }
            try writeSilence(render, frames: 1000)
            expectError(.AUDCLNT_E_BUFFER_TOO_LARGE) { try render.getBuffer(frames: size - 1000 + 1) }
            expectError(.E_INVALIDARG) { try render.getBuffer(frames: -1) }
            // No buffer is pending after the rejections: a release is out of order, a get of the free space works.
            expectError(.AUDCLNT_E_OUT_OF_ORDER) { try render.releaseBuffer(frames: 0) }
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
    func renderOutOfOrder() async throws {
        try await withJackServer { server in
            let enumerator = try MMDeviceEnumerator(serverName: server.name)
            let client = try initializedClient(try enumerator.getDefaultAudioEndpoint(.render, role: .console))
            let render = try client.getRenderClient()
            expectError(.AUDCLNT_E_OUT_OF_ORDER) { try render.releaseBuffer(frames: 0) }
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
    func captureOutOfOrder() async throws {
        try await withJackServer { server in
            let enumerator = try MMDeviceEnumerator(serverName: server.name)
            let client = try initializedClient(try enumerator.getDefaultAudioEndpoint(.capture, role: .console))
            let capture = try client.getCaptureClient()
            expectError(.AUDCLNT_E_OUT_OF_ORDER) { try capture.releaseBuffer(frames: 0) }
            try client.start()
            let packet = try await nextPacket(capture)
            expectError(.AUDCLNT_E_OUT_OF_ORDER) { try capture.getBuffer() }
            try capture.releaseBuffer(frames: packet.frames)
            expectError(.AUDCLNT_E_OUT_OF_ORDER) { try capture.releaseBuffer(frames: packet.frames) }
            // The next packet follows the released one.
            let next = try await nextPacket(capture)
            #expect(next.devicePosition == packet.devicePosition + UInt64(packet.frames))
            try capture.releaseBuffer(frames: next.frames)
            try client.stop()
        }
    }

    @Test("AUDCLNT_E_INVALID_SIZE (capture): ReleaseBuffer of a count other than 0 or the packet size; 0 keeps the packet")
    func captureInvalidSize() async throws {
        try await withJackServer { server in
            let enumerator = try MMDeviceEnumerator(serverName: server.name)
            let client = try initializedClient(try enumerator.getDefaultAudioEndpoint(.capture, role: .console))
            let capture = try client.getCaptureClient()
            try client.start()
            let packet = try await nextPacket(capture)
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
            let next = try await nextPacket(capture)
            #expect(next.devicePosition == packet.devicePosition + UInt64(packet.frames))
            try capture.releaseBuffer(frames: next.frames)
            try client.stop()
        }
    }

    @Test("AUDCLNT_S_BUFFER_EMPTY: capture GetBuffer returns nil and GetNextPacketSize 0 when nothing was captured")
    func bufferEmpty() async throws {
        try await withJackServer { server in
            let enumerator = try MMDeviceEnumerator(serverName: server.name)
            let client = try initializedClient(try enumerator.getDefaultAudioEndpoint(.capture, role: .console))
            let capture = try client.getCaptureClient()
            #expect(try capture.getNextPacketSize() == 0)
            #expect(try capture.getBuffer() == nil)
            // An empty GetBuffer leaves nothing pending.
            expectError(.AUDCLNT_E_OUT_OF_ORDER) { try capture.releaseBuffer(frames: 0) }
            #expect(try capture.getBuffer() == nil)
            // Once started, packets arrive; stopped and reset, it is empty again.
            try client.start()
            let packet = try await nextPacket(capture)
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
    func notStopped() async throws {
        try await withJackServer { server in
            let enumerator = try MMDeviceEnumerator(serverName: server.name)
            let client = try initializedClient(try enumerator.getDefaultAudioEndpoint(.render, role: .console))
            let render = try client.getRenderClient()
            try writeSilence(render, frames: 512)
            try client.start()
            expectError(.AUDCLNT_E_NOT_STOPPED) { try client.start() }
            expectError(.AUDCLNT_E_NOT_STOPPED) { try client.reset() }
            // Still running: the engine keeps consuming the buffer.
            try await waitUntil { (try? client.getCurrentPadding()) == 0 }
            #expect(try client.getCurrentPadding() == 0)
            #expect(try client.stop() == .S_OK)
            #expect(try client.reset() == .S_OK, "the position moved, so there was something to reset")
            try writeSilence(render, frames: 64)
            try client.start()
            #expect(try client.stop() == .S_OK)
        }
    }

    @Test("S_FALSE: Stop of a stopped stream, Reset with nothing to reset")
    func sFalse() async throws {
        try await withJackServer { server in
            let enumerator = try MMDeviceEnumerator(serverName: server.name)
            let client = try initializedClient(try enumerator.getDefaultAudioEndpoint(.render, role: .console))
            #expect(try client.stop() == .S_FALSE, "never started")
            #expect(try client.reset() == .S_FALSE, "nothing queued, position 0")
            let render = try client.getRenderClient()
            try writeSilence(render, frames: 100)
            #expect(try client.reset() == .S_OK, "100 frames were queued")
            #expect(try client.getCurrentPadding() == 0)
            #expect(try client.reset() == .S_FALSE)
            try writeSilence(render, frames: 100)
            try client.start()
            #expect(try client.stop() == .S_OK)
            #expect(try client.stop() == .S_FALSE, "already stopped")
            try client.start()
            #expect(try client.stop() == .S_OK)
        }
    }

    @Test("AUDCLNT_E_EVENTHANDLE_NOT_SET: Start of an event-driven stream without an event; with one it runs and signals")
    func eventHandleNotSet() async throws {
        try await withJackServer { server in
            let enumerator = try MMDeviceEnumerator(serverName: server.name)
            let client = try initializedClient(try enumerator.getDefaultAudioEndpoint(.render, role: .console), flags: [.eventCallback])
            try writeSilence(try client.getRenderClient(), frames: 256)
            expectError(.AUDCLNT_E_EVENTHANDLE_NOT_SET) { try client.start() }
            #expect(try client.stop() == .S_FALSE, "the rejected Start did not start the stream")
            let event = try RealtimeEvent()
            try client.setEventHandle(event)
            try client.start()
            #expect(event.wait(timeoutMilliseconds: 2000) == .signaled)
            #expect(try client.stop() == .S_OK)
        }
    }

    @Test("AUDCLNT_E_EVENTHANDLE_NOT_EXPECTED: SetEventHandle on a stream without EVENTCALLBACK; it still runs timer-driven")
    func eventHandleNotExpected() async throws {
        try await withJackServer { server in
            let enumerator = try MMDeviceEnumerator(serverName: server.name)
            let client = try initializedClient(try enumerator.getDefaultAudioEndpoint(.render, role: .console))
            let event = try RealtimeEvent()
            expectError(.AUDCLNT_E_EVENTHANDLE_NOT_EXPECTED) { try client.setEventHandle(event) }
            try writeSilence(try client.getRenderClient(), frames: 256)
            try client.start()
            try await waitUntil { (try? client.getCurrentPadding()) == 0 }
            #expect(try client.getCurrentPadding() == 0, "the engine consumed the frames")
            #expect(event.wait(timeoutMilliseconds: 0) == .timedOut, "the rejected event is never signalled")
            #expect(try client.stop() == .S_OK)
        }
    }

    @Test("AUDCLNT_E_BUFFER_OPERATION_PENDING: Reset between GetBuffer and ReleaseBuffer (render and capture)")
    func bufferOperationPending() async throws {
        try await withJackServer { server in
            let enumerator = try MMDeviceEnumerator(serverName: server.name)
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
            let packet = try await nextPacket(capture)
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
    func bufferSizeError() async throws {
        try await withJackServer { server in
            let enumerator = try MMDeviceEnumerator(serverName: server.name)
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

    @Test("E_NOINTERFACE: GetService(IAudioClockAdjustment) without RATEADJUST; other services still work")
    func noInterface() async throws {
        try await withJackServer { server in
            let enumerator = try MMDeviceEnumerator(serverName: server.name)
            let device = try enumerator.getDefaultAudioEndpoint(.render, role: .console)
            let client = try initializedClient(device)
            expectError(.E_NOINTERFACE) { try client.getClockAdjustment() }
            #expect(try client.getClock().getFrequency() == 48_000 * 8)
            #expect(try client.getStreamVolume().getChannelCount() == 2)
            try writeSilence(try client.getRenderClient(), frames: 64)
            let adjusting = try initializedClient(device, flags: [.rateAdjust])
            try adjusting.getClockAdjustment().setSampleRate(47_900)
        }
    }

    @Test("AUDCLNT_E_DEVICE_INVALIDATED: a render endpoint whose ports are unregistered; other endpoints and a fresh client work")
    func deviceInvalidatedByUnregister() async throws {
        try await withJackServer { server in
            let card = try JackClient(name: "usbcard", serverName: server.name)
            defer { card.close() }
            let ports = try (1...2).map { try card.registerPort("playback_\($0)", direction: .input, flags: [.isPhysical, .isTerminal]) }
            try card.activate()
            let enumerator = try MMDeviceEnumerator(serverName: server.name)
            enumerator.synchronize()
            let cardID = EndpointDescriptor.stableID(flow: .render, clientName: "usbcard", group: nil)
            let device = try enumerator.getDevice(id: cardID)
            #expect(device.state == .active)
            let client = try initializedClient(device)
            let render = try client.getRenderClient()
            let clock = try client.getClock()
            let volume = try client.getStreamVolume()
            try writeSilence(render, frames: 256)
            try client.start()

            ports.forEach(card.unregister)
            enumerator.synchronize()
            #expect(device.state == .notPresent)
            let code = HRESULT.AUDCLNT_E_DEVICE_INVALIDATED
            expectError(code) { try client.getBufferSize() }
            expectError(code) { try client.getCurrentPadding() }
            expectError(code) { try client.getStreamLatency() }
            expectError(code) { try client.getMixFormat() }
            expectError(code) { try client.getDevicePeriod() }
            expectError(code) { try client.isFormatSupported(.shared, format: WaveFormat(.float32, sampleRate: 48_000, channels: 2)) }
            expectError(code) { try client.start() }
            expectError(code) { try client.getRenderClient() }
            expectError(code) { try render.getBuffer(frames: 1) }
            expectError(code) { try clock.getPosition() }
            expectError(code) { try volume.getAllVolumes() }
            expectError(code) { try device.activateAudioClient() }
            // Stop is still accepted (an application stops and releases the stream).
            _ = try client.stop()

            // The other endpoints of the same engine are unaffected.
            let system = try initializedClient(try enumerator.getDefaultAudioEndpoint(.render, role: .console))
            try writeSilence(try system.getRenderClient(), frames: 64)
            try system.start()
            try system.stop()

            // The card comes back: a freshly activated client works on it.
            _ = try (1...2).map { try card.registerPort("playback_\($0)", direction: .input, flags: [.isPhysical, .isTerminal]) }
            enumerator.synchronize()
            #expect(device.state == .active)
            let fresh = try initializedClient(device)
            try writeSilence(try fresh.getRenderClient(), frames: 64)
            try fresh.start()
            try fresh.stop()

            // As on Windows, an invalidated client stays invalidated when the
            // endpoint returns (its ports lost their connections).
            expectError(code) { try client.getBufferSize() }
            expectError(code) { try render.getBuffer(frames: 1) }
        }
    }

    @Test("AUDCLNT_E_DEVICE_INVALIDATED: a capture endpoint whose JACK client closes")
    func deviceInvalidatedByClose() async throws {
        try await withJackServer { server in
            let card = try JackClient(name: "usbmic", serverName: server.name)
            defer { card.close() }
            _ = try (1...2).map { try card.registerPort("capture_\($0)", direction: .output, flags: [.isPhysical, .isTerminal]) }
            try card.activate()
            let enumerator = try MMDeviceEnumerator(serverName: server.name)
            enumerator.synchronize()
            let cardID = EndpointDescriptor.stableID(flow: .capture, clientName: "usbmic", group: nil)
            let device = try enumerator.getDevice(id: cardID)
            let client = try initializedClient(device)
            let capture = try client.getCaptureClient()
            try client.start()
            let packet = try await nextPacket(capture)
            try capture.releaseBuffer(frames: packet.frames)

            card.close()
            try await waitUntil {
                enumerator.synchronize()
                return device.state == .notPresent
            }
            #expect(device.state == .notPresent)
            expectError(.AUDCLNT_E_DEVICE_INVALIDATED) { try capture.getBuffer() }
            expectError(.AUDCLNT_E_DEVICE_INVALIDATED) { try capture.getNextPacketSize() }
            expectError(.AUDCLNT_E_DEVICE_INVALIDATED) { try client.getCurrentPadding() }
            expectError(.AUDCLNT_E_DEVICE_INVALIDATED) { try client.reset() }
            _ = try client.stop()

            // The system capture endpoint still captures.
            let system = try initializedClient(try enumerator.getDefaultAudioEndpoint(.capture, role: .console))
            let systemCapture = try system.getCaptureClient()
            try system.start()
            let systemPacket = try await nextPacket(systemCapture)
            try systemCapture.releaseBuffer(frames: systemPacket.frames)
            try system.stop()
        }
    }

    @Test("AUDCLNT_E_DEVICE_INVALIDATED: every stream call once the JACK server stopped; SERVICE_NOT_RUNNING for a new enumerator (in a child process)")
    func deviceInvalidatedByServerStop() async throws {
        // The child exits before releasing anything (see the next test). Each
        // child starts its own jackd: the parent holds the JACK gate meanwhile,
        // so that the test run never has more servers up than jackd allows
        // ("Too many servers already active" at 8).
        try await withJackLibrary {
            await #expect(processExitsWith: .success, "the child records each wrong answer as an issue") {
                try await serverStopScenario(releasingObjects: false)
            }
        }
    }

    @Test("releasing the stream and the enumerator after the JACK server stopped does not crash (in a child process)")
    func releaseAfterServerStop() async throws {
        try await withJackLibrary {
            await #expect(processExitsWith: .success) {
                try await serverStopScenario(releasingObjects: true)
            }
        }
    }

    @Test("AUDCLNT_E_BUFFER_SIZE_ERROR, not a crash, for a duration whose frame count overflows (in a child process)")
    func bufferDurationOverflow() async throws {
        try await withJackLibrary {
            await #expect(processExitsWith: .success) {
                try await withJackServer { server in
                    let enumerator = try MMDeviceEnumerator(serverName: server.name)
                    let client = try enumerator.getDefaultAudioEndpoint(.render, role: .console).activateAudioClient()
                    let mix = try client.getMixFormat()
                    do {
                        // About 3 years: duration x 48 000 exceeds Int64.
                        try client.initialize(shareMode: .shared, streamFlags: [], bufferDuration: 1_000_000_000_000_000, format: mix)
                        exitChild(["Initialize accepted a 3-year buffer"])
                    } catch {
                        exitChild((error as? AudioError)?.code == .AUDCLNT_E_BUFFER_SIZE_ERROR ? [] : ["Initialize: \(error)"])
                    }
                }
            }
        }
    }

    @Test("AUDCLNT_E_SERVICE_NOT_RUNNING: an enumerator on a server nobody runs; one on a running server works")
    func serviceNotRunning() async throws {
        try await withJackServer { server in
            let absent = JackServerProcess.Configuration.uniqueName(prefix: "wasapi-absent")
            let error = expectError(.AUDCLNT_E_SERVICE_NOT_RUNNING) { try MMDeviceEnumerator(serverName: absent) }
            #expect(error?.message.contains(absent) == true, "\(error?.message ?? "")")
            let enumerator = try MMDeviceEnumerator(serverName: server.name)
            #expect(try enumerator.enumAudioEndpoints(.all, stateMask: .active).count == 2)
            let client = try initializedClient(try enumerator.getDefaultAudioEndpoint(.render, role: .console))
            try writeSilence(try client.getRenderClient(), frames: 64)
        }
    }
}

// MARK: Helpers

/// Runs `body`, which must throw an ``AudioError`` with `code`; returns the error.
@discardableResult
private func expectError<T>(_ code: HRESULT, _ comment: @autoclosure () -> String = "",
                            sourceLocation: SourceLocation = #_sourceLocation,
                            _ body: () throws -> T) -> AudioError? {
    do {
        let value = try body()
        Issue.record("expected \(code), the call succeeded with \(value) \(comment())", sourceLocation: sourceLocation)
        return nil
    } catch let error as AudioError {
        #expect(error.code == code, "\(error) \(comment())", sourceLocation: sourceLocation)
        return error
    } catch {
        Issue.record("expected an AudioError with \(code), got \(error) \(comment())", sourceLocation: sourceLocation)
        return nil
    }
}

/// A client on `device`, initialised shared with the mix format and a 100 ms buffer.
private func initializedClient(_ device: MMDevice, flags: StreamFlags = []) throws -> AudioClient {
    let client = try device.activateAudioClient()
    try client.initialize(shareMode: .shared, streamFlags: flags, bufferDuration: 1_000_000, format: try client.getMixFormat())
    return client
}

/// Queues `frames` frames of silence.
private func writeSilence(_ render: AudioRenderClient, frames: Int) throws {
    _ = try render.getBuffer(frames: frames)
    try render.releaseBuffer(frames: frames, flags: .silent)
}

/// Waits (at most 5 s) for a packet and returns it, not yet released.
private func nextPacket(_ capture: AudioCaptureClient) async throws -> CaptureBuffer {
    try await waitUntil { (try? capture.getNextPacketSize()).map { $0 > 0 } ?? true }
    return try #require(try capture.getBuffer(), "no packet was captured within 5 s")
}


/// Exit-test body: a running render stream whose JACK server stops, and an
/// application that reacts as on Windows. Checks that every stream call
/// answers DEVICE_INVALIDATED and that a new enumerator (the application
/// trying to start over) answers SERVICE_NOT_RUNNING. Then, with
/// `releasingObjects`, releases the stream and the enumerator, as the
/// application would. Exits 0 when everything answered as expected, 3
/// otherwise (recording each wrong answer as an issue).
private func serverStopScenario(releasingObjects: Bool) async throws {
    /// Holds the objects so that their release happens exactly where the scenario says.
    final class Objects: @unchecked Sendable {
        var enumerator: MMDeviceEnumerator?
        var client: AudioClient?
        var render: AudioRenderClient?
    }
    var failures: [String] = []
    func check(_ code: HRESULT, _ call: String, _ body: () throws -> Void) {
        do {
            try body()
            failures.append("\(call) succeeded, expected \(code)")
        } catch let error as AudioError {
            if error.code != code { failures.append("\(call): \(error), expected \(code)") }
        } catch {
            failures.append("\(call): \(error)")
        }
    }
    try await withJackServer { server in
        // Only `objects` holds the stream and the enumerator: no local keeps them alive.
        let objects = Objects()
        objects.enumerator = try MMDeviceEnumerator(serverName: server.name)
        objects.client = try initializedClient(try objects.enumerator!.getDefaultAudioEndpoint(.render, role: .console))
        objects.render = try objects.client!.getRenderClient()
        try writeSilence(objects.render!, frames: 256)
        try objects.client!.start()

        server.stop()
        try await waitUntil { ((try? JackAudioEngine.shared(serverName: server.name))?.isShutDown ?? true) }
        if !((try? JackAudioEngine.shared(serverName: server.name))?.isShutDown ?? true) { failures.append("the engine did not notice the server stopping") }
        let code = HRESULT.AUDCLNT_E_DEVICE_INVALIDATED
        check(code, "GetBufferSize") { _ = try objects.client!.getBufferSize() }
        check(code, "GetCurrentPadding") { _ = try objects.client!.getCurrentPadding() }
        check(code, "GetMixFormat") { _ = try objects.client!.getMixFormat() }
        check(code, "Start") { try objects.client!.start() }
        check(code, "GetBuffer") { _ = try objects.render!.getBuffer(frames: 1) }
        check(code, "GetService(IAudioClock)") { _ = try objects.client!.getClock() }
        check(code, "Activate") { _ = try objects.client!.device.activateAudioClient() }
        check(.AUDCLNT_E_SERVICE_NOT_RUNNING, "a new MMDeviceEnumerator") { _ = try MMDeviceEnumerator(serverName: server.name) }
        if releasingObjects {
            _ = try? objects.client?.stop()
            objects.render = nil
            objects.client = nil
            objects.enumerator = nil
            // The answers are checked by deviceInvalidatedByServerStop; here only the release matters.
            exitChild([])
        }
        // Exit before anything is released: releasing is the known crash (see releaseAfterServerStop).
        withExtendedLifetime(objects) { exitChild(failures) }
    }
}

/// Ends an exit test's child: status 0 without failures, 3 with them (each recorded as an issue).
private func exitChild(_ failures: [String]) -> Never {
    // Issues recorded in the child are reported by the parent test.
    for failure in failures { Issue.record("wrong answer: \(failure)") }
    // _exit, not exit: atexit handlers and static destructors would race the
    // JACK and engine threads still running in the child (a SIGILL now and then).
    fflush(nil)
    _exit(failures.isEmpty ? 0 : 3)
}
