import Foundation
import Realtime
import Testing
import WASAPI

/// render.c's volume functions, test_worst_case, test_endpointvolume and
/// test_audio_clock_adjustment (the tests are declared in
/// ``RenderConformance``).
extension RenderConformance {
    // MARK: test_streamvolume

    static func streamvolume(_ h: Harness) async throws {
        let (client, mix) = try sharedClient(try h.render)
        let f = ChannelVolumeFacts.probe(.stream(try client.getStreamVolume()), channels: Int(mix.channels))
        check("render.streamvolume.GetChannelCount", f.channelCount)
        check("render.streamvolume.GetChannelVolume.beyondLast", f.getBeyondLast)
        check("render.streamvolume.GetChannelVolume.default", f.defaultIsOne)
        check("render.streamvolume.SetChannelVolume.beyondLast", f.setBeyondLast)
        check("render.streamvolume.SetChannelVolume.negative", f.setNegative)
        check("render.streamvolume.SetChannelVolume.aboveOne", f.setAboveOne)
        check("render.streamvolume.SetChannelVolume", f.set)
        check("render.streamvolume.GetAllVolumes", f.getAll, f.seen)
        check("render.streamvolume.SetAllVolumes.tooFew", f.setAllShort)
        check("render.streamvolume.SetAllVolumes", f.setAll)
    }

    // MARK: test_channelvolume

    static func channelvolume(_ h: Harness) async throws {
        let (client, mix) = try sharedClient(try h.render, flags: .noPersist)
        let f = ChannelVolumeFacts.probe(.session(try client.getChannelAudioVolume()), channels: Int(mix.channels))
        check("render.channelvolume.GetChannelCount", f.channelCount)
        check("render.channelvolume.GetChannelVolume.beyondLast", f.getBeyondLast)
        check("render.channelvolume.GetChannelVolume.default", f.defaultIsOne)
        check("render.channelvolume.SetChannelVolume.beyondLast", f.setBeyondLast)
        check("render.channelvolume.SetChannelVolume.negative", f.setNegative)
        check("render.channelvolume.SetChannelVolume.aboveOne", f.setAboveOne)
        check("render.channelvolume.SetChannelVolume", f.set)
        check("render.channelvolume.GetAllVolumes", f.getAll, f.seen)
        check("render.channelvolume.SetAllVolumes.tooFew", f.setAllShort)
        check("render.channelvolume.SetAllVolumes", f.setAll)
        check("render.channelvolume.SetChannelVolume.restore", f.restore)
    }

    // MARK: test_volume_dependence

    static func volumeDependence(_ h: Harness) async throws {
        let f = try VolumeDependenceFacts.probe(try h.render)
        check("render.volume_dependence.streamVolume", f.streamVolume)
        check("render.volume_dependence.channelVolume", f.channelVolume)
        check("render.volume_dependence.simpleVolume", f.simpleVolume)
        check("render.volume_dependence.secondStream.channelVolume", f.secondChannelVolume)
        check("render.volume_dependence.secondStream.streamVolume", f.secondStreamVolume)
        check("render.volume_dependence.secondStream.channelCount", f.secondChannelCount)
        check("render.volume_dependence.secondStream.streamChannelCount", f.secondStreamChannelCount)
        check("render.volume_dependence.restore", f.restore)
    }

    // MARK: test_worst_case

    /// XAudio2's pattern: an event-driven shared stream fed one device
    /// period at a time, only when at most one period is queued, for 100
    /// events per round (Wine's three rounds), the feeding thread late by up
    /// to 3/4 of a period. After Stop the position is exactly what was
    /// written less what is still queued.
    static func worstCase(_ h: Harness) async throws {
        let (client, mix) = try sharedClient(try h.render, flags: .eventCallback, duration: 500_000)
        let (defaultPeriod, _) = try client.getDevicePeriod()
        let rate = UInt64(mix.samplesPerSecond)
        let fragment = Int(UInt64(defaultPeriod) * rate / 10_000_000)
        let event = try RealtimeEvent()
        try client.setEventHandle(event)
        let render = try client.getRenderClient()
        let clock = try client.getClock()
        let frequency = try clock.getFrequency()
        for round in 0...2 {
            var sum = 0
            check("render.worst_case.Start", hresult { try client.start() } == .S_OK)
            for i in 0...99 {
                check("render.worst_case.event", h.waitForSignal(event, milliseconds: 60 + Int(defaultPeriod / 10_000)), "round \(round), wait \(i)")
                try await h.pass(milliseconds: (i % 10) * Int(defaultPeriod) / 120_000)
                var padding = 0
                check("render.worst_case.GetCurrentPadding", hresult { padding = try client.getCurrentPadding() } == .S_OK)
                if padding <= fragment {
                    check("render.worst_case.GetBuffer", hresult { _ = try render.getBuffer(frames: fragment) } == .S_OK)
                    let released = hresult { try render.releaseBuffer(frames: fragment, flags: .silent) }
                    check("render.worst_case.ReleaseBuffer", released == .S_OK)
                    if released == .S_OK { sum += fragment }
                }
            }
            check("render.worst_case.Stop", returned { try client.stop() } == .S_OK)
            let padding = try client.getCurrentPadding()
            let position = try clock.getPosition().position
            try await h.pass(milliseconds: 100)
            check("render.worst_case.position", position * rate == UInt64(sum - padding) * frequency,
                  "round \(round): position \(position * rate / frequency) after \(sum) written, \(padding) queued")
            check("render.worst_case.Reset", returned { try client.reset() } == .S_OK)
            try await h.pass(milliseconds: 250)
        }
    }

    // MARK: test_endpointvolume

    static func endpointvolume(_ h: Harness) async throws {
        let volume = try h.render.activateEndpointVolume()
        let range = volume.getVolumeRange()
        check("render.endpointvolume.GetVolumeRange", range.minimumDB < range.maximumDB && range.incrementDB > 0)
        check("render.endpointvolume.SetMasterVolumeLevel.belowMinimum",
              hresult { try volume.setMasterVolumeLevel(range.minimumDB - range.incrementDB) } == .E_INVALIDARG)
        let level = volume.getMasterVolumeLevel()
        check("render.endpointvolume.GetMasterVolumeLevel", level >= range.minimumDB && level <= range.maximumDB, "\(level) dB")
        check("render.endpointvolume.SetMasterVolumeLevel.current", hresult { try volume.setMasterVolumeLevel(level) } == .S_OK)
        let mute = volume.getMute()
        check("render.endpointvolume.SetMute.current", hresult { try volume.setMute(mute) } == .S_OK)
    }

    // MARK: test_audio_clock_adjustment

    static func audioClockAdjustment(_ h: Harness) async throws {
        let duration: ReferenceTime = 500_000
        let (client, mix) = try sharedClient(try h.render, flags: [.eventCallback, .rateAdjust], duration: duration)
        let expected = Int(duration) * Int(mix.samplesPerSecond) / 10_000_000
        check("render.audio_clock_adjustment.GetBufferSize", try client.getBufferSize() == expected)
        var adjustment: AudioClockAdjustment?
        check("render.audio_clock_adjustment.GetService", hresult { adjustment = try client.getClockAdjustment() } == .S_OK)
        let event = try RealtimeEvent()
        check("render.audio_clock_adjustment.SetEventHandle", hresult { try client.setEventHandle(event) } == .S_OK)
        check("render.audio_clock_adjustment.Start", hresult { try client.start() } == .S_OK)
        guard let adjustment else { return }
        check("render.audio_clock_adjustment.SetSampleRate.48000", hresult { try adjustment.setSampleRate(48_000) } == .S_OK)
        _ = h.waitForSignal(event, milliseconds: 1000)
        check("render.audio_clock_adjustment.GetBufferSize.after48000", try client.getBufferSize() == expected)
        check("render.audio_clock_adjustment.SetSampleRate.44100", hresult { try adjustment.setSampleRate(44_100) } == .S_OK)
        _ = h.waitForSignal(event, milliseconds: 1000)
        check("render.audio_clock_adjustment.GetBufferSize.after44100", try client.getBufferSize() == expected)
    }
}
