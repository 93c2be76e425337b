import Foundation
import PCM
import Realtime
import Testing
import WASAPI

/// The assertions of Wine's dlls/mmdevapi/tests/render.c (native Windows
/// behaviour), ported as facts about this API. Each test names the Wine
/// function; ids are listed in ``Ledger``.
@Suite("Conformance: render.c", .timeLimit(.minutes(15)))
struct RenderConformance {
    @Test("render.c test_uninitialized") func uninitialized() async throws { try await Harness.run(.simulated, Self.uninitialized) }
    @Test("render.c test_audioclient") func audioclient() async throws { try await Harness.run(.simulated, Self.audioclient) }
    @Test("render.c test_formats") func formats() async throws { try await Harness.run(.simulated, Self.formats) }
    @Test("render.c test_references") func references() async throws { try await Harness.run(.simulated, Self.references) }
    @Test("render.c test_event") func event() async throws { try await Harness.run(.simulated, Self.event) }
    @Test("render.c test_padding") func padding() async throws { try await Harness.run(.simulated, Self.padding) }
    @Test("render.c test_clock (shared)") func clockShared() async throws { try await Harness.run(.simulated) { try await Self.clock($0, shared: true) } }
    @Test("render.c test_clock (exclusive)") func clockExclusive() async throws { try await Harness.run(.simulated) { try await Self.clock($0, shared: false) } }
    @Test("render.c test_session") func session() async throws { try await Harness.run(.simulated, Self.session) }
    @Test("render.c test_simplevolume") func simplevolume() async throws { try await Harness.run(.simulated, Self.simplevolume) }
    @Test("render.c test_session_creation") func sessionCreation() async throws { try await Harness.run(.simulated, Self.sessionCreation) }
    @Test("render.c test_streamvolume") func streamvolume() async throws { try await Harness.run(.simulated, Self.streamvolume) }
    @Test("render.c test_channelvolume") func channelvolume() async throws { try await Harness.run(.simulated, Self.channelvolume) }
    @Test("render.c test_volume_dependence") func volumeDependence() async throws { try await Harness.run(.simulated, Self.volumeDependence) }
    @Test("render.c test_worst_case") func worstCase() async throws { try await Harness.run(.simulated, Self.worstCase) }
    @Test("render.c test_endpointvolume") func endpointvolume() async throws { try await Harness.run(.simulated, Self.endpointvolume) }
    @Test("render.c test_audio_clock_adjustment") func audioClockAdjustment() async throws { try await Harness.run(.simulated, Self.audioClockAdjustment) }

    /// Every function once against a real server, in Wine's order (short: the clock's loop is cut to three rounds).
    @Test("render.c, every function, on jackd") func jackd() async throws {
        try await Harness.run(.jackServer) { harness in
            try await harness.run(Self.all)
        }
    }

    @Test("render.c, every function, on pipewire-jack") func pipewire() async throws {
        try await Harness.runOnPipeWire(filter: "RenderConformance/jackd")
    }

    static let all: [Harness.Step] = [
        ("test_uninitialized", uninitialized), ("test_audioclient", audioclient), ("test_formats", formats),
        ("test_references", references), ("test_event", event), ("test_padding", padding),
        ("test_clock (shared)", { try await clock($0, shared: true) }),
        ("test_clock (exclusive)", { try await clock($0, shared: false) }),
        ("test_session", session), ("test_streamvolume", streamvolume), ("test_channelvolume", channelvolume),
        ("test_simplevolume", simplevolume), ("test_volume_dependence", volumeDependence),
        ("test_session_creation", sessionCreation), ("test_worst_case", worstCase),
        ("test_endpointvolume", endpointvolume), ("test_audio_clock_adjustment", audioClockAdjustment),
    ]

    // MARK: test_uninitialized

    static func uninitialized(_ h: Harness) async throws {
        let client = try h.render.activateAudioClient()
        let notInitialized = HRESULT.AUDCLNT_E_NOT_INITIALIZED
        check("render.uninitialized.GetBufferSize", hresult { _ = try client.getBufferSize() } == notInitialized)
        check("render.uninitialized.GetStreamLatency", hresult { _ = try client.getStreamLatency() } == notInitialized)
        check("render.uninitialized.GetCurrentPadding", hresult { _ = try client.getCurrentPadding() } == notInitialized)
        check("render.uninitialized.Start", hresult { try client.start() } == notInitialized)
        check("render.uninitialized.Stop", returned { try client.stop() } == notInitialized)
        check("render.uninitialized.Reset", returned { try client.reset() } == notInitialized)
        let event = try RealtimeEvent()
        check("render.uninitialized.SetEventHandle", hresult { try client.setEventHandle(event) } == notInitialized)
        check("render.uninitialized.GetService", hresult { _ = try client.getStreamVolume() } == notInitialized)
    }

    // MARK: test_audioclient

    static func audioclient(_ h: Harness) async throws {
        let device = try h.render
        var client = try device.activateAudioClient()
        check("render.audioclient.GetDevicePeriod", hresult { _ = try client.getDevicePeriod() } == .S_OK)
        let (period, _) = try client.getDevicePeriod()
        let mix = try client.getMixFormat()
        check("render.audioclient.mixFormat.extensible", mix.formatTag == .extensible)
        check("render.audioclient.mixFormat.float", mix.subFormat == UUID.ieeeFloatSubFormat)
        var pcm = mix
        pcm.subFormat = UUID.pcmSubFormat
        check("render.audioclient.IsFormatSupported.pcmSubFormat", (try? client.isFormatSupported(.shared, format: pcm)) == .supported)
        check("render.audioclient.IsFormatSupported.mix", (try? client.isFormatSupported(.shared, format: mix)) == .supported)
        let exclusive = hresult { _ = try client.isFormatSupported(.exclusive, format: mix) }
        check("render.audioclient.IsFormatSupported.exclusive", [.S_OK, .AUDCLNT_E_UNSUPPORTED_FORMAT, .AUDCLNT_E_EXCLUSIVE_MODE_NOT_ALLOWED].contains(exclusive))
        var floatError = WaveFormat.extensibleFloat32(sampleRate: 48_000, channels: 2, channelMask: ChannelMask(rawValue: 3))
        floatError.validBitsPerSample = 4
        let floatErrorResult = hresult { _ = try client.isFormatSupported(.exclusive, format: floatError) }
        check("render.audioclient.IsFormatSupported.exclusiveValidBits", [.S_OK, .AUDCLNT_E_UNSUPPORTED_FORMAT, .AUDCLNT_E_EXCLUSIVE_MODE_NOT_ALLOWED].contains(floatErrorResult)
              || floatErrorResult == .E_INVALIDARG, "\(floatErrorResult)")
        if exclusive == .S_OK {
            check("render.audioclient.IsFormatSupported.exclusiveNoSuggestion", (try? client.isFormatSupported(.exclusive, format: mix)) == .supported)
        }
        let enginePeriod = try client.getSharedModeEnginePeriod(format: mix)
        check("render.audioclient.GetSharedModeEnginePeriod", enginePeriod.defaultPeriodFrames > 0)
        check("render.audioclient.InitializeSharedAudioStream",
              hresult { try client.initializeSharedAudioStream(streamFlags: [], periodInFrames: enginePeriod.defaultPeriodFrames, format: mix) } == .S_OK)

        client = try device.activateAudioClient()
        let badFlags = hresult { try client.initialize(shareMode: .shared, streamFlags: StreamFlags(rawValue: 0xffff_ffff), bufferDuration: 5_000_000, format: mix) }
        check("render.audioclient.Initialize.invalidFlags", badFlags == .E_INVALIDARG || badFlags == .AUDCLNT_E_INVALID_STREAM_FLAG)
        check("render.audioclient.Initialize.zeroDuration", hresult { try client.initialize(shareMode: .shared, streamFlags: [], bufferDuration: 0, format: mix) } == .S_OK)
        check("render.audioclient.GetBufferSize.zeroDuration", hresult { _ = try client.getBufferSize() } == .S_OK)
        check("render.audioclient.Initialize.twice", hresult { try client.initialize(shareMode: .shared, streamFlags: [], bufferDuration: 5_000_000, format: mix) } == .AUDCLNT_E_ALREADY_INITIALIZED)
        check("render.audioclient.Start.afterDoubleInitialize", hresult { try client.start() } == .S_OK)

        check("render.audioclient.channelMask.nonzero", !mix.channelMask.isEmpty)
        var wide = mix
        wide.channelMask = ChannelMask(rawValue: 0xffff)
        client = try device.activateAudioClient()
        let wideResult = hresult { try client.initialize(shareMode: .shared, streamFlags: [], bufferDuration: 5_000_000, format: wide) }
        check("render.audioclient.channelMask.0xffff", wideResult == .S_OK || wideResult == .AUDCLNT_E_UNSUPPORTED_FORMAT, "\(wideResult)")
        var unmasked = mix
        unmasked.channelMask = []
        client = try device.activateAudioClient()
        check("render.audioclient.channelMask.zero.IsFormatSupported", (try? client.isFormatSupported(.shared, format: unmasked)) == .supported)
        check("render.audioclient.channelMask.zero.Initialize", hresult { try client.initialize(shareMode: .shared, streamFlags: [], bufferDuration: 5_000_000, format: unmasked) } == .S_OK)

        client = try device.activateAudioClient()
        try client.initialize(shareMode: .shared, streamFlags: [], bufferDuration: 5_000_000, format: mix)
        check("render.audioclient.GetStreamLatency", ((try? client.getStreamLatency()) ?? 0) >= period)
        let event = try RealtimeEvent()
        check("render.audioclient.SetEventHandle.notExpected", hresult { try client.setEventHandle(event) } == .AUDCLNT_E_EVENTHANDLE_NOT_EXPECTED)
        check("render.audioclient.Reset.initialized", returned { try client.reset() } == .S_OK)
        check("render.audioclient.Reset.again", returned { try client.reset() } == .S_OK)
        check("render.audioclient.Stop.stopped", returned { try client.stop() } == .S_FALSE)
        check("render.audioclient.Start", hresult { try client.start() } == .S_OK)
        check("render.audioclient.Start.twice", hresult { try client.start() } == .AUDCLNT_E_NOT_STOPPED)
    }

    // MARK: test_formats

    /// Wine's 48 formats: PCM 8/16 bit and float, mono and stereo, 8 to 96 kHz.
    static let windowsFormats: [WaveFormat] = {
        let rates = [8_000, 11_025, 12_000, 16_000, 22_050, 44_100, 48_000, 96_000]
        var formats: [WaveFormat] = []
        for rate in rates {
            for (format, channels) in [(SampleFormat.uint8, 1), (.uint8, 2), (.int16, 1), (.int16, 2)] {
                formats.append(WaveFormat(format, sampleRate: rate, channels: channels, extensible: false))
            }
        }
        for rate in rates {
            for channels in [1, 2] { formats.append(WaveFormat(.float32, sampleRate: rate, channels: channels, extensible: false)) }
        }
        return formats
    }()

    static func formats(_ h: Harness) async throws {
        let device = try h.render
        for format in windowsFormats {
            for mode in [ShareMode.exclusive, .shared] {
                let client = try device.activateAudioClient()
                let mix = try client.getMixFormat()
                var support: FormatSupport?
                let supported = hresult { support = try client.isFormatSupported(mode, format: format) }
                let initialized = hresult { try client.initialize(shareMode: mode, streamFlags: [], bufferDuration: 5_000_000, format: format) }
                let compatible = format.samplesPerSecond == mix.samplesPerSecond && format.channels == mix.channels
                if mode == .shared {
                    check("render.formats.shared.result", compatible ? support == .supported : support != .supported && supported == .S_OK, "\(format)")
                    if case let .closestMatch(suggestion) = support {
                        check("render.formats.shared.suggestionIsMixFormat",
                              suggestion.formatTag == mix.formatTag && suggestion.samplesPerSecond == mix.samplesPerSecond
                              && suggestion.channels == mix.channels && suggestion.bitsPerSample == mix.bitsPerSample, "\(format) -> \(suggestion)")
                    } else {
                        check("render.formats.shared.suggestionIsMixFormat", compatible, "\(format): S_FALSE without a suggestion")
                    }
                    check("render.formats.shared.initialize", supported == .S_OK && support == .supported ? initialized == .S_OK : initialized == .AUDCLNT_E_UNSUPPORTED_FORMAT, "\(format): \(initialized)")
                } else {
                    check("render.formats.exclusive.result", supported == .S_OK || supported == .AUDCLNT_E_UNSUPPORTED_FORMAT, "\(format): \(supported)")
                    check("render.formats.exclusive.noSuggestion", support == nil || support == .supported)
                    check("render.formats.exclusive.initialize", supported == .S_OK ? initialized == .S_OK
                          : initialized == .AUDCLNT_E_ENDPOINT_CREATE_FAILED || initialized == .AUDCLNT_E_UNSUPPORTED_FORMAT, "\(format): \(initialized)")
                }
            }
        }
    }

    // MARK: test_references (the services; reference counts are COM's)

    static func references(_ h: Harness) async throws {
        let device = try h.render
        var (client, mix) = try sharedClient(device)
        check("render.references.GetService.renderClient", hresult { _ = try client.getRenderClient() } == .S_OK)
        check("render.references.GetService.clockAdjustmentWithoutRateAdjust", hresult { _ = try client.getClockAdjustment() } == .E_INVALIDARG)
        client = try device.activateAudioClient()
        try client.initialize(shareMode: .shared, streamFlags: .rateAdjust, bufferDuration: 5_000_000, format: mix)
        check("render.references.GetService.clockAdjustment", hresult { _ = try client.getClockAdjustment() } == .S_OK)
        (client, _) = try sharedClient(device)
        check("render.references.GetService.simpleAudioVolume", hresult { _ = try client.getSimpleAudioVolume() } == .S_OK)
        check("render.references.GetService.clock", hresult { _ = try client.getClock() } == .S_OK)
        check("render.references.GetService.streamVolume", hresult { _ = try client.getStreamVolume() } == .S_OK)
    }

    // MARK: test_event

    static func event(_ h: Harness) async throws {
        let (client, _) = try sharedClient(try h.render, flags: .eventCallback)
        let event = try RealtimeEvent()
        check("render.event.Start.withoutEvent", hresult { try client.start() } == .AUDCLNT_E_EVENTHANDLE_NOT_SET)
        check("render.event.SetEventHandle", hresult { try client.setEventHandle(event) } == .S_OK)
        check("render.event.SetEventHandle.twice", hresult { try client.setEventHandle(event) } == .E_UNEXPECTED)
        check("render.event.notBeforeStart", try await !h.wait(event, milliseconds: 40))
        check("render.event.Start", hresult { try client.start() } == .S_OK)
        check("render.event.afterStart", try await h.wait(event, milliseconds: 20))
        check("render.event.Stop", returned { try client.stop() } == .S_OK)
        event.reset()
        check("render.event.afterStop", try await h.wait(event, milliseconds: 20))
        check("render.event.Reset", returned { try client.reset() } == .S_OK)
        event.reset()
        check("render.event.afterReset", try await h.wait(event, milliseconds: 120))
        check("render.event.still", try await h.wait(event, milliseconds: 70))
        check("render.event.Start.again", hresult { try client.start() } == .S_OK)
    }

    // MARK: test_padding

    static func padding(_ h: Harness) async throws {
        let (client, mix) = try sharedClient(try h.render)
        let rate = Int(mix.samplesPerSecond)
        let (defaultPeriod, minimumPeriod) = try client.getDevicePeriod()
        check("render.padding.minimumPeriod.nonzero", minimumPeriod != 0)
        check("render.padding.minimumPeriod.atMostDefault", minimumPeriod <= defaultPeriod)
        let render = try client.getRenderClient()
        var written = 0
        check("render.padding.initial", try client.getCurrentPadding() == written)
        var size = Int(defaultPeriod) * rate / 10_000_000 * 10
        check("render.padding.GetBuffer", hresult { _ = try render.getBuffer(frames: size) } == .S_OK)
        check("render.padding.GetBuffer.zeroWhileHeld", hresult { _ = try render.getBuffer(frames: 0) } == .AUDCLNT_E_OUT_OF_ORDER)
        check("render.padding.Reset.whileHeld", returned { try client.reset() } == .AUDCLNT_E_BUFFER_OPERATION_PENDING)
        check("render.padding.ReleaseBuffer", hresult { try render.releaseBuffer(frames: size, flags: .silent) } == .S_OK)
        written += size
        check("render.padding.afterRelease", try client.getCurrentPadding() == written)
        size = Int(minimumPeriod) * rate / 10_000_000 * 10
        _ = try render.getBuffer(frames: size)
        try render.releaseBuffer(frames: size, flags: .silent)
        written += size
        check("render.padding.afterSecondRelease", try client.getCurrentPadding() == written)
        check("render.padding.GetBuffer.tooLarge", hresult { _ = try render.getBuffer(frames: rate / 2) } == .AUDCLNT_E_BUFFER_TOO_LARGE)
        check("render.padding.ReleaseBuffer.afterFailedGet", hresult { try render.releaseBuffer(frames: rate / 2) } == .AUDCLNT_E_OUT_OF_ORDER)
        size = Int(minimumPeriod) * rate / 10_000_000 * 2
        _ = try render.getBuffer(frames: size)
        check("render.padding.ReleaseBuffer.zero", hresult { try render.releaseBuffer(frames: 0) } == .S_OK)
        var empty: UnsafeMutableRawBufferPointer?
        check("render.padding.GetBuffer.zero", hresult { empty = try render.getBuffer(frames: 0) } == .S_OK && empty?.baseAddress == nil)
        check("render.padding.GetBuffer.zeroTwice", hresult { empty = try render.getBuffer(frames: 0) } == .S_OK && empty?.baseAddress == nil)
        check("render.padding.ReleaseBuffer.framesAfterZeroGet", hresult { try render.releaseBuffer(frames: size) } == .AUDCLNT_E_OUT_OF_ORDER)
        _ = try render.getBuffer(frames: size)
        try render.releaseBuffer(frames: 0)
        check("render.padding.afterZeroRelease", try client.getCurrentPadding() == written)
        _ = try render.getBuffer(frames: size)
        check("render.padding.ReleaseBuffer.tooLarge", hresult { try render.releaseBuffer(frames: size + 1, flags: .silent) } == .AUDCLNT_E_INVALID_SIZE)
        check("render.padding.ReleaseBuffer.stillHeld", hresult { try render.releaseBuffer(frames: size / 2, flags: .silent) } == .S_OK)
        written += size / 2
        check("render.padding.ReleaseBuffer.zeroNothingHeld", hresult { try render.releaseBuffer(frames: 0) } == .S_OK)
        check("render.padding.final", try client.getCurrentPadding() == written)
    }

    // MARK: test_clock

    static func clock(_ h: Harness, shared: Bool) async throws {
        let device = try h.render
        let client = try device.activateAudioClient()
        var format = try client.getMixFormat()
        let duration: ReferenceTime = 5_000_000
        var period: ReferenceTime = 150_000
        let (defaultPeriod, minimumPeriod) = try client.getDevicePeriod()
        check("render.clock.minimumPeriod", minimumPeriod <= period)
        if shared {
            try client.initialize(shareMode: .shared, streamFlags: [], bufferDuration: duration, periodicity: 0, format: format)
            period = defaultPeriod
        } else {
            format = WaveFormat(.int16, sampleRate: Int(format.samplesPerSecond), channels: 2, extensible: false)
            let result = hresult { try client.initialize(shareMode: .exclusive, streamFlags: [], bufferDuration: duration, periodicity: period, format: format) }
            check("render.clock.exclusive.Initialize", result == .S_OK, "\(result)")
            guard result == .S_OK else { return }
        }
        let rate = UInt64(format.samplesPerSecond)
        let latency = try client.getStreamLatency()
        check("render.clock.latency.atLeastPeriod", latency >= period, "\(latency) < \(period)")
        let bufferSize = try client.getBufferSize()
        if shared { check("render.clock.bufferSize.shared", bufferSize == Int(duration) * Int(rate) / 10_000_000) }
        let clock = try client.getClock()
        let frequency = try clock.getFrequency()
        check("render.clock.frequency", frequency == (shared ? rate * UInt64(format.blockAlign) : rate), "\(frequency)")
        let start = try clock.getPosition()
        check("render.clock.position.beforeStart", start.position == 0 && start.qpcPosition != 0)
        let render = try client.getRenderClient()
        check("render.clock.GetBuffer.tooLarge", hresult { _ = try render.getBuffer(frames: bufferSize + 1) } == .AUDCLNT_E_BUFFER_TOO_LARGE)
        _ = try render.getBuffer(frames: bufferSize)
        try render.releaseBuffer(frames: bufferSize, flags: .silent)
        var sum = UInt64(bufferSize)
        check("render.clock.padding.beforeStart", try client.getCurrentPadding() == bufferSize)
        check("render.clock.position.filledBeforeStart", try clock.getPosition().position == 0)
        /// Frames of a position.
        func frames(_ position: UInt64) -> UInt64 { position * rate / frequency }

        let started = ContinuousClock.now
        try client.start()
        try await h.pass(milliseconds: 100)
        var position = try clock.getPosition().position
        // Wine's window (1.4 times the time slept), against the time that
        // really passed on a real server (a loaded machine oversleeps).
        let elapsed = started.duration(to: .now)
        let slept: UInt64 = h.sim == nil ? UInt64(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000) : 100
        check("render.clock.latency.constant", try client.getStreamLatency() == latency)
        check("render.clock.position.afterStart", position > 0)
        check("render.clock.position.window", frames(position) * 1000 / rate <= slept * 14 / 10, "\(frames(position)) frames after \(slept) ms")
        var last = position
        try client.stop()
        position = try clock.getPosition().position
        check("render.clock.position.afterStop", position >= last)
        last = position

        try client.start()
        try await h.pass(milliseconds: 100)
        try client.stop()
        var pad = UInt64(try client.getCurrentPadding())
        position = try clock.getPosition().position
        check("render.clock.position.atMostWritten", frames(position) <= sum)
        check("render.clock.position.stopDropsNothing", pad > 0 ? position > last : position >= last)
        if shared { check("render.clock.position.stopIsWrittenLessPadding", frames(position) == sum - pad, "\(frames(position)) != \(sum) - \(pad)") }
        last = position
        try await h.pass(milliseconds: 100)
        check("render.clock.position.stopped", try clock.getPosition().position == last)

        check("render.clock.Reset", returned { try client.reset() } == .S_OK)
        check("render.clock.Reset.again", returned { try client.reset() } == .S_OK)
        let afterReset = try clock.getPosition()
        check("render.clock.position.afterReset", afterReset.position == 0 && afterReset.qpcPosition > start.qpcPosition)
        _ = try render.getBuffer(frames: bufferSize)
        try render.releaseBuffer(frames: bufferSize, flags: .silent)
        sum = UInt64(bufferSize)
        try client.start()
        try await h.pass(milliseconds: 100)
        position = try clock.getPosition().position
        check("render.clock.position.afterRestart", position > 0 && frames(position) <= sum)
        check("render.clock.Reset.whilePlaying", returned { try client.reset() } == .AUDCLNT_E_NOT_STOPPED)
        last = position
        try client.stop()
        pad = UInt64(try client.getCurrentPadding())
        position = try clock.getPosition().position
        check("render.clock.position.afterStop3", position >= last && frames(position) <= sum)
        if shared { check("render.clock.position.stop3IsWrittenLessPadding", frames(position) == sum - pad) }

        // The big loop: a prefill, then 100 ms of data per round (three rounds on a real server).
        try client.reset()
        sum = 0; last = 0
        try client.start()
        let prefill = Int(rate) * 15 / 16 / 2
        _ = try render.getBuffer(frames: prefill)
        try render.releaseBuffer(frames: prefill, flags: .silent)
        sum += UInt64(prefill)
        try await h.pass(milliseconds: 350)
        position = try clock.getPosition().position
        check("render.clock.loop.moves", position > last)
        last = position
        let fragment = UInt64(period) * rate / 10_000_000
        for round in 0..<(h.sim == nil ? 3 : 9) {
            try await h.pass(milliseconds: 100)
            position = try clock.getPosition().position
            pad = UInt64(try client.getCurrentPadding())
            check("render.clock.loop.increase", pad > 0 ? position > last : position >= last, "round \(round)")
            check("render.clock.loop.atMostWritten", frames(position) <= sum)
            check("render.clock.loop.paddingLag", frames(position) <= sum - pad + fragment + 64, "\(frames(position)) vs \(sum) - \(pad)")
            check("render.clock.loop.latencyConstant", try client.getStreamLatency() == latency)
            let large = hresult { _ = try render.getBuffer(frames: prefill) }
            check("render.clock.loop.largeBuffer", large == .AUDCLNT_E_BUFFER_TOO_LARGE || (large == .S_OK && round == 0), "\(large) in round \(round)")
            var available = prefill
            if large != .S_OK {
                available = bufferSize - Int(pad)
                check("render.clock.loop.smallBuffer", hresult { _ = try render.getBuffer(frames: available) } == .S_OK)
            }
            try render.releaseBuffer(frames: available, flags: .silent)
            sum += UInt64(available)
            last = position
        }
        try await h.pass(milliseconds: 1000 + (h.sim == nil ? 0 : 600))
        pad = UInt64(try client.getCurrentPadding())
        position = try clock.getPosition().position
        if shared {
            check("render.clock.underrun.padding", pad == 0)
            check("render.clock.underrun.positionIsWritten", frames(position) == sum, "\(frames(position)) != \(sum)")
        } else {
            check("render.clock.exclusive.underrun.padding", pad == 0 || frames(position) == sum - pad)
            check("render.clock.exclusive.underrun.position", frames(position) <= sum && frames(position) + 5 * fragment >= sum)
        }
        check("render.clock.latency.constantAfterUnderrun", try client.getStreamLatency() == latency)
        check("render.clock.Stop", returned { try client.stop() } == .S_OK)
    }

    // MARK: test_session

    static func session(_ h: Harness) async throws {
        let guid = UUID()
        let device = try h.render
        var first: AudioClient? = try sharedClient(device, session: guid).0
        var second: AudioClient? = try sharedClient(device, session: guid).0
        var capture: AudioClient? = try sharedClient(try h.capture, session: guid).0
        check("render.session.captureInRenderSession", capture != nil)
        let captureControl = try capture!.getSessionControl()
        let control = try first!.getSessionControl()
        let control2 = try second!.getSessionControl()
        check("render.session.sameSession", try control.getSessionInstanceIdentifier() == control2.getSessionInstanceIdentifier())
        check("render.session.inactive", try control.getState() == .inactive && control2.getState() == .inactive && captureControl.getState() == .inactive)
        try first!.start()
        check("render.session.active", try control.getState() == .active && control2.getState() == .active)
        check("render.session.captureSessionSeparate", try captureControl.getState() == .inactive)
        try first!.stop()
        check("render.session.inactiveAfterStop", try control.getState() == .inactive && control2.getState() == .inactive)
        check("render.session.displayName.default", try control2.getDisplayName() == "")
        try control2.setDisplayName("WineDisplayName")
        check("render.session.displayName", try control2.getDisplayName() == "WineDisplayName")
        check("render.session.iconPath.default", try control2.getIconPath() == "")
        try control2.setIconPath("WineIconPath")
        check("render.session.iconPath", try control2.getIconPath() == "WineIconPath")
        check("render.session.grouping.default", try control2.getGroupingParam() != UUID(uuid: (0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0)))
        let grouping = UUID()
        try control2.setGroupingParam(grouping)
        check("render.session.grouping", try control2.getGroupingParam() == grouping)
        try capture!.start()
        check("render.session.captureActive", try captureControl.getState() == .active && control.getState() == .inactive)
        try capture!.stop()
        check("render.session.captureInactive", try captureControl.getState() == .inactive)
        capture = nil; first = nil; second = nil
        check("render.session.heldControlStaysInactive", try control2.getState() == .inactive)
        _ = control
    }

    // MARK: test_simplevolume

    static func simplevolume(_ h: Harness) async throws {
        let (client, _) = try sharedClient(try h.render, flags: .noPersist)
        let volume = try client.getSimpleAudioVolume()
        check("render.simplevolume.default", try volume.getMasterVolume() == 1)
        check("render.simplevolume.negative", hresult { try volume.setMasterVolume(-1) } == .E_INVALIDARG)
        check("render.simplevolume.aboveOne", hresult { try volume.setMasterVolume(2) } == .E_INVALIDARG)
        try volume.setMasterVolume(0.2)
        check("render.simplevolume.set", abs(try volume.getMasterVolume() - 0.2) < 0.05)
        check("render.simplevolume.mute.default", try volume.getMute() == false)
        try volume.setMute(true)
        check("render.simplevolume.mute", try volume.getMute() == true)
        check("render.simplevolume.muteKeepsVolume", abs(try volume.getMasterVolume() - 0.2) < 0.05)
        try volume.setMasterVolume(1)
        check("render.simplevolume.volumeKeepsMute", try volume.getMute() == true)
        try volume.setMute(false)
    }

    // MARK: test_session_creation

    static func sessionCreation(_ h: Harness) async throws {
        let guid = UUID(), guid2 = UUID()
        let device = try h.render
        do {
            // Every session object lives in this scope only: the volume must outlive them all.
            let manager = device.activateSessionManager()
            try manager.getSimpleAudioVolume(sessionGUID: guid).setMasterVolume(0.6)
            try manager.getAudioSessionControl(sessionGUID: guid).setDisplayName("test_session1")
            let before = manager.getSessionEnumerator()
            try manager.getAudioSessionControl(sessionGUID: guid2).setDisplayName("test_session2")
            let after = manager.getSessionEnumerator()
            let names = { (e: AudioSessionEnumerator) in Set(e.sessions.compactMap { try? $0.getDisplayName() }) }
            check("render.session_creation.firstEnumerator", names(before).contains("test_session1") && !names(before).contains("test_session2"))
            check("render.session_creation.secondEnumerator", names(after).isSuperset(of: ["test_session1", "test_session2"]))
            if let control = after.sessions.first(where: { (try? $0.getDisplayName()) == "test_session1" }) {
                let identifier = try control.getSessionIdentifier()
                check("render.session_creation.identifier", identifier.hasPrefix(device.id + "|") && identifier.hasSuffix("%b{" + guid.uuidString + "}"), identifier)
                check("render.session_creation.instanceIdentifier", try control.getSessionInstanceIdentifier() == identifier + "|1%b\(getpid())")
            }
        }
        let (client, _) = try sharedClient(device, flags: .noPersist, session: guid)
        check("render.session_creation.volumePersists", abs(try client.getSimpleAudioVolume().getMasterVolume() - 0.6) < 0.05)
        let (captureClient, _) = try sharedClient(try h.capture, session: guid)
        check("render.session_creation.captureInSession", hresult { _ = try captureClient.getSimpleAudioVolume().getMasterVolume() } == .S_OK)
    }
}
