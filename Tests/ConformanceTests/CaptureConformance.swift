import Foundation
import PCM
import Realtime
import Testing
import WASAPI

/// The assertions of Wine's dlls/mmdevapi/tests/capture.c, ported as facts
/// about this API (ids in ``Ledger``). The volume functions repeat render.c's
/// steps on the capture endpoint; ``ChannelVolumeFacts`` and
/// ``VolumeDependenceFacts`` run them for both files.
@Suite("Conformance: capture.c", .timeLimit(.minutes(15)))
struct CaptureConformance {
    @Test("capture.c test_uninitialized") func uninitialized() async throws { try await Harness.run(.simulated, Self.uninitialized) }
    @Test("capture.c test_audioclient") func audioclient() async throws { try await Harness.run(.simulated, Self.audioclient) }
    @Test("capture.c test_capture") func capture() async throws { try await Harness.run(.simulated, Self.capture) }
    @Test("capture.c test_formats") func formats() async throws { try await Harness.run(.simulated, Self.formats) }
    @Test("capture.c test_render_loopback") func renderLoopback() async throws { try await Harness.run(.simulated, Self.renderLoopback) }
    @Test("capture.c test_streamvolume") func streamvolume() async throws { try await Harness.run(.simulated, Self.streamvolume) }
    @Test("capture.c test_channelvolume") func channelvolume() async throws { try await Harness.run(.simulated, Self.channelvolume) }
    @Test("capture.c test_simplevolume") func simplevolume() async throws { try await Harness.run(.simulated, Self.simplevolume) }
    @Test("capture.c test_volume_dependence") func volumeDependence() async throws { try await Harness.run(.simulated, Self.volumeDependence) }

    @Test("capture.c, every function, on jackd") func jackd() async throws {
        try await Harness.run(.jackServer) { harness in
            try await harness.run([
                ("test_uninitialized", Self.uninitialized), ("test_audioclient", Self.audioclient),
                ("test_capture", Self.capture), ("test_formats", Self.formats),
                ("test_render_loopback", Self.renderLoopback), ("test_streamvolume", Self.streamvolume),
                ("test_channelvolume", Self.channelvolume), ("test_simplevolume", Self.simplevolume),
                ("test_volume_dependence", Self.volumeDependence),
            ])
        }
    }

    @Test("capture.c, every function, on pipewire-jack") func pipewire() async throws {
        try await Harness.runOnPipeWire(filter: "CaptureConformance/jackd")
    }

    static func uninitialized(_ h: Harness) async throws {
        let client = try h.capture.activateAudioClient()
        let code = HRESULT.AUDCLNT_E_NOT_INITIALIZED
        check("capture.uninitialized.GetBufferSize", hresult { _ = try client.getBufferSize() } == code)
        check("capture.uninitialized.GetStreamLatency", hresult { _ = try client.getStreamLatency() } == code)
        check("capture.uninitialized.GetCurrentPadding", hresult { _ = try client.getCurrentPadding() } == code)
        check("capture.uninitialized.Start", hresult { try client.start() } == code)
        check("capture.uninitialized.Stop", returned { try client.stop() } == code)
        check("capture.uninitialized.Reset", returned { try client.reset() } == code)
        let event = try RealtimeEvent()
        check("capture.uninitialized.SetEventHandle", hresult { try client.setEventHandle(event) } == code)
        check("capture.uninitialized.GetService", hresult { _ = try client.getStreamVolume() } == code)
    }

    static func audioclient(_ h: Harness) async throws {
        let client = try h.capture.activateAudioClient()
        check("capture.audioclient.GetDevicePeriod", hresult { _ = try client.getDevicePeriod() } == .S_OK)
        let mix = try client.getMixFormat()
        check("capture.audioclient.mixFormat.extensible", mix.formatTag == .extensible)
        check("capture.audioclient.IsFormatSupported.mix", (try? client.isFormatSupported(.shared, format: mix)) == .supported)
        let exclusive = hresult { _ = try client.isFormatSupported(.exclusive, format: mix) }
        check("capture.audioclient.IsFormatSupported.exclusive", exclusive == .S_OK || exclusive == .AUDCLNT_E_UNSUPPORTED_FORMAT)
        let badFlags = hresult { try client.initialize(shareMode: .shared, streamFlags: StreamFlags(rawValue: 0xffff_ffff), bufferDuration: 5_000_000, format: mix) }
        check("capture.audioclient.Initialize.invalidFlags", badFlags == .E_INVALIDARG || badFlags == .AUDCLNT_E_INVALID_STREAM_FLAG)
        check("capture.audioclient.Initialize", hresult { try client.initialize(shareMode: .shared, streamFlags: .eventCallback, bufferDuration: 4_987_654, format: mix) } == .S_OK)
        check("capture.audioclient.GetStreamLatency", hresult { _ = try client.getStreamLatency() } == .S_OK)
        check("capture.audioclient.Start.withoutEvent", hresult { try client.start() } == .AUDCLNT_E_EVENTHANDLE_NOT_SET)
        let event = try RealtimeEvent()
        check("capture.audioclient.SetEventHandle", hresult { try client.setEventHandle(event) } == .S_OK)
        check("capture.audioclient.Reset", returned { try client.reset() } == .S_OK)
        check("capture.audioclient.Stop.stopped", returned { try client.stop() } == .S_FALSE)
    }

    static func capture(_ h: Harness) async throws {
        let client = try h.capture.activateAudioClient()
        let mix = try client.getMixFormat()
        try client.initialize(shareMode: .shared, streamFlags: .eventCallback, bufferDuration: 4_987_654, format: mix)
        let event = try RealtimeEvent()
        try client.setEventHandle(event)
        let capture = try client.getCaptureClient()
        check("capture.capture.nextPacketIsPadding", try capture.getNextPacketSize() == client.getCurrentPadding())
        let period = UInt64(try client.getDevicePeriod().defaultPeriod) * UInt64(mix.samplesPerSecond) / 10_000_000
        check("capture.capture.Start", hresult { try client.start() } == .S_OK)
        check("capture.capture.event", try await h.wait(event, milliseconds: 1000))
        var sum: UInt64 = 0
        var packet = try capture.getBuffer()
        if let first = packet {
            check("capture.capture.firstPacket", first.frames > 0 && (first.devicePosition == sum || first.flags.contains(.dataDiscontinuity)))
            sum = first.devicePosition
        }
        check("capture.capture.nextPacketIsBuffer", try capture.getNextPacketSize() == (packet?.frames ?? 0))
        check("capture.capture.ReleaseBuffer", hresult { try capture.releaseBuffer(frames: packet?.frames ?? 0) } == .S_OK)
        check("capture.capture.ReleaseBuffer.zeroNothingHeld", hresult { try capture.releaseBuffer(frames: 0) } == .S_OK)
        if let first = packet {
            check("capture.capture.ReleaseBuffer.twice", hresult { try capture.releaseBuffer(frames: first.frames) } == .AUDCLNT_E_OUT_OF_ORDER)
            sum += UInt64(first.frames)
        }
        try await h.pass(milliseconds: 350)
        let pad = try client.getCurrentPadding()
        let next = try capture.getNextPacketSize()
        check("capture.capture.packetSmallerThanPadding", next < pad, "\(next) vs \(pad)")
        packet = try capture.getBuffer()
        check("capture.capture.GetBuffer", packet != nil && packet?.frames == next)
        if let held = packet {
            check("capture.capture.position", held.devicePosition == sum, "\(held.devicePosition) vs \(sum)")
            try capture.releaseBuffer(frames: 0)
            check("capture.capture.ReleaseZeroKeepsPadding", try client.getCurrentPadding() >= pad)
            let again = try capture.getBuffer()
            check("capture.capture.sameDataAgain", again?.frames == held.frames && again?.devicePosition == held.devicePosition && again?.qpcPosition == held.qpcPosition)
            check("capture.capture.GetBuffer.outOfOrder", hresult { _ = try capture.getBuffer() } == .AUDCLNT_E_OUT_OF_ORDER)
            check("capture.capture.ReleaseBuffer.plusOne", hresult { try capture.releaseBuffer(frames: held.frames + 1) } == .AUDCLNT_E_INVALID_SIZE)
            check("capture.capture.ReleaseBuffer.one", hresult { try capture.releaseBuffer(frames: 1) } == .AUDCLNT_E_INVALID_SIZE)
            check("capture.capture.Reset.running", returned { try client.reset() } == .AUDCLNT_E_NOT_STOPPED)
            check("capture.capture.ReleaseBuffer.held", hresult { try capture.releaseBuffer(frames: held.frames) } == .S_OK)
            sum += UInt64(held.frames)
            check("capture.capture.ReleaseBuffer.twiceAgain", hresult { try capture.releaseBuffer(frames: held.frames) } == .AUDCLNT_E_OUT_OF_ORDER)
            check("capture.capture.packetIsPeriod", UInt64(held.frames) == period)
        }
        // Overrun, then the position after a gap.
        try await h.pass(milliseconds: 400)
        if let overrun = try capture.getBuffer() {
            check("capture.capture.overrun.position", overrun.flags.contains(.dataDiscontinuity) ? overrun.devicePosition >= sum + UInt64(overrun.frames) : overrun.devicePosition == sum)
            sum = overrun.devicePosition + UInt64(overrun.frames)
            try capture.releaseBuffer(frames: overrun.frames)
        }
        check("capture.capture.Stop", returned { try client.stop() } == .S_OK)
        check("capture.capture.Start.again", hresult { try client.start() } == .S_OK)
        check("capture.capture.Stop.again", returned { try client.stop() } == .S_OK)
        let dropped = try client.getCurrentPadding()
        let positionBeforeReset = try client.getClock().getPosition().position
        check("capture.capture.Reset.stopped", returned { try client.reset() } == .S_OK)
        check("capture.capture.Reset.emptiesPadding", try client.getCurrentPadding() == 0)
        check("capture.capture.Reset.bufferEmpty", try capture.getBuffer() == nil)
        check("capture.capture.Reset.keepsPosition", try client.getClock().getPosition().position >= positionBeforeReset && dropped >= 0)
        try client.start()
        try await h.pass(milliseconds: 180)
        if let running = try capture.getBuffer() {
            check("capture.capture.positionAfterReset", running.devicePosition >= sum, "\(running.devicePosition) vs \(sum)")
            try capture.releaseBuffer(frames: running.frames)
        } else {
            check("capture.capture.positionAfterReset", false, "no packet 180 ms after restart")
        }
        try client.stop()
    }

    static func formats(_ h: Harness) async throws {
        let device = try h.capture
        for format in RenderConformance.windowsFormats {
            for mode in [ShareMode.exclusive, .shared] {
                let client = try device.activateAudioClient()
                let mix = try client.getMixFormat()
                var support: FormatSupport?
                let supported = hresult { support = try client.isFormatSupported(mode, format: format) }
                let initialized = hresult { try client.initialize(shareMode: mode, streamFlags: [], bufferDuration: 5_000_000, format: format) }
                let compatible = format.samplesPerSecond == mix.samplesPerSecond && format.channels == mix.channels
                if mode == .shared {
                    check("capture.formats.shared.result", compatible == (support == .supported) && supported == .S_OK, "\(format)")
                    if case let .closestMatch(suggestion) = support {
                        check("capture.formats.shared.suggestionIsMixFormat", suggestion.samplesPerSecond == mix.samplesPerSecond && suggestion.channels == mix.channels
                              && suggestion.bitsPerSample == mix.bitsPerSample && suggestion.formatTag == mix.formatTag)
                    }
                    check("capture.formats.shared.initialize", support == .supported ? initialized == .S_OK : initialized == .AUDCLNT_E_UNSUPPORTED_FORMAT,
                          "\(format): \(String(describing: support)), Initialize \(initialized)")
                } else {
                    check("capture.formats.exclusive.result", supported == .S_OK || supported == .AUDCLNT_E_UNSUPPORTED_FORMAT)
                    check("capture.formats.exclusive.initialize", supported == .S_OK ? initialized == .S_OK
                          : initialized == .AUDCLNT_E_ENDPOINT_CREATE_FAILED || initialized == .AUDCLNT_E_UNSUPPORTED_FORMAT,
                          "\(format): IsFormatSupported \(supported), Initialize \(initialized)")
                }
            }
        }
    }

    static func renderLoopback(_ h: Harness) async throws {
        let capture = try h.capture.activateAudioClient()
        let mix = try capture.getMixFormat()
        check("capture.render_loopback.onCaptureEndpoint",
              hresult { try capture.initialize(shareMode: .shared, streamFlags: [.eventCallback, .loopback], bufferDuration: 5_000_000, format: mix) } == .AUDCLNT_E_WRONG_ENDPOINT_TYPE)
        let loopback = try h.render.activateAudioClient()
        check("capture.render_loopback.Initialize",
              hresult { try loopback.initialize(shareMode: .shared, streamFlags: .loopback, bufferDuration: 5_000_000, format: try loopback.getMixFormat()) } == .S_OK)
        check("capture.render_loopback.noRenderClient", hresult { _ = try loopback.getRenderClient() } == .AUDCLNT_E_WRONG_ENDPOINT_TYPE)
        check("capture.render_loopback.captureClient", hresult { _ = try loopback.getCaptureClient() } == .S_OK)
    }
}
