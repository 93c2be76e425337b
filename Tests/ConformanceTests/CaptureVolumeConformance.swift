import Foundation
import Testing
import WASAPI

/// capture.c's volume functions on the capture endpoint (the tests are
/// declared in ``CaptureConformance``).
extension CaptureConformance {
    // MARK: test_streamvolume

    static func streamvolume(_ h: Harness) async throws {
        let (client, mix) = try sharedClient(try h.capture)
        let f = ChannelVolumeFacts.probe(.stream(try client.getStreamVolume()), channels: Int(mix.channels))
        check("capture.streamvolume.GetChannelCount", f.channelCount)
        check("capture.streamvolume.GetChannelVolume.beyondLast", f.getBeyondLast)
        check("capture.streamvolume.GetChannelVolume.default", f.defaultIsOne)
        check("capture.streamvolume.SetChannelVolume.beyondLast", f.setBeyondLast)
        check("capture.streamvolume.SetChannelVolume.negative", f.setNegative)
        check("capture.streamvolume.SetChannelVolume.aboveOne", f.setAboveOne)
        check("capture.streamvolume.SetChannelVolume", f.set)
        check("capture.streamvolume.GetAllVolumes", f.getAll, f.seen)
        check("capture.streamvolume.SetAllVolumes.tooFew", f.setAllShort)
        check("capture.streamvolume.SetAllVolumes", f.setAll)
    }

    // MARK: test_channelvolume

    static func channelvolume(_ h: Harness) async throws {
        let (client, mix) = try sharedClient(try h.capture, flags: .noPersist)
        let f = ChannelVolumeFacts.probe(.session(try client.getChannelAudioVolume()), channels: Int(mix.channels))
        check("capture.channelvolume.GetChannelCount", f.channelCount)
        check("capture.channelvolume.GetChannelVolume.beyondLast", f.getBeyondLast)
        check("capture.channelvolume.GetChannelVolume.default", f.defaultIsOne)
        check("capture.channelvolume.SetChannelVolume.beyondLast", f.setBeyondLast)
        check("capture.channelvolume.SetChannelVolume.negative", f.setNegative)
        check("capture.channelvolume.SetChannelVolume.aboveOne", f.setAboveOne)
        check("capture.channelvolume.SetChannelVolume", f.set)
        check("capture.channelvolume.GetAllVolumes", f.getAll, f.seen)
        check("capture.channelvolume.SetAllVolumes.tooFew", f.setAllShort)
        check("capture.channelvolume.SetAllVolumes", f.setAll)
        check("capture.channelvolume.SetChannelVolume.restore", f.restore)
    }

    // MARK: test_simplevolume

    static func simplevolume(_ h: Harness) async throws {
        let (client, _) = try sharedClient(try h.capture, flags: .noPersist)
        let volume = try client.getSimpleAudioVolume()
        check("capture.simplevolume.GetMasterVolume", hresult { _ = try volume.getMasterVolume() } == .S_OK)
        check("capture.simplevolume.negative", hresult { try volume.setMasterVolume(-1) } == .E_INVALIDARG)
        check("capture.simplevolume.aboveOne", hresult { try volume.setMasterVolume(2) } == .E_INVALIDARG)
        check("capture.simplevolume.set", try hresult { try volume.setMasterVolume(0.2) } == .S_OK && abs(volume.getMasterVolume() - 0.2) < 0.05)
        check("capture.simplevolume.mute.default", try volume.getMute() == false)
        check("capture.simplevolume.mute", try hresult { try volume.setMute(true) } == .S_OK && volume.getMute() == true)
        check("capture.simplevolume.muteKeepsVolume", abs(try volume.getMasterVolume() - 0.2) < 0.05)
        check("capture.simplevolume.volumeKeepsMute", try hresult { try volume.setMasterVolume(1) } == .S_OK && volume.getMute() == true)
        check("capture.simplevolume.unmute", hresult { try volume.setMute(false) } == .S_OK)
    }

    // MARK: test_volume_dependence

    static func volumeDependence(_ h: Harness) async throws {
        let f = try VolumeDependenceFacts.probe(try h.capture)
        check("capture.volume_dependence.streamVolume", f.streamVolume)
        check("capture.volume_dependence.channelVolume", f.channelVolume)
        check("capture.volume_dependence.simpleVolume", f.simpleVolume)
        check("capture.volume_dependence.secondStream.channelVolume", f.secondChannelVolume)
        check("capture.volume_dependence.secondStream.streamVolume", f.secondStreamVolume)
        check("capture.volume_dependence.secondStream.channelCount", f.secondChannelCount)
        check("capture.volume_dependence.secondStream.streamChannelCount", f.secondStreamChannelCount)
        check("capture.volume_dependence.restore", f.restore)
    }
}
