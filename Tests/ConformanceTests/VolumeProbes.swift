import Foundation
import WASAPI

/// render.c and capture.c run the same steps in test_streamvolume,
/// test_channelvolume and test_volume_dependence; these probes run them once
/// on a device and report each fact, which each file then checks under its
/// own ids.

/// IAudioStreamVolume and IChannelAudioVolume, seen through the calls the
/// two Wine functions share.
struct ChannelVolumes {
    let count: () throws -> Int
    let get: (Int) throws -> Float
    let set: (Int, Float) throws -> Void
    let getAll: () throws -> [Float]
    let setAll: ([Float]) throws -> Void

    static func stream(_ v: AudioStreamVolume) -> ChannelVolumes {
        ChannelVolumes(count: v.getChannelCount, get: v.getChannelVolume, set: { try v.setChannelVolume($0, level: $1) },
                       getAll: v.getAllVolumes, setAll: { try v.setAllVolumes($0) })
    }

    static func session(_ v: ChannelAudioVolume) -> ChannelVolumes {
        ChannelVolumes(count: v.getChannelCount, get: v.getChannelVolume, set: { try v.setChannelVolume($0, level: $1) },
                       getAll: v.getAllVolumes, setAll: { try v.setAllVolumes($0) })
    }
}

/// What test_streamvolume and test_channelvolume observe, in their order.
struct ChannelVolumeFacts {
    /// GetChannelCount is the mix format's channel count.
    var channelCount = false
    /// GetChannelVolume(channel count) is E_INVALIDARG.
    var getBeyondLast = false
    /// GetChannelVolume(0) is exactly 1 on a new stream or session.
    var defaultIsOne = false
    /// SetChannelVolume(channel count, -1) is E_INVALIDARG.
    var setBeyondLast = false
    /// SetChannelVolume(0, -1) is E_INVALIDARG.
    var setNegative = false
    /// SetChannelVolume(0, 2) is E_INVALIDARG.
    var setAboveOne = false
    /// SetChannelVolume(0, 0.2) is S_OK and GetChannelVolume(0) then 0.2 (within 0.05).
    var set = false
    /// GetAllVolumes: 0.2 for channel 0, exactly 1 for the others.
    var getAll = false
    /// SetAllVolumes with one level too few is E_INVALIDARG.
    var setAllShort = false
    /// SetAllVolumes with those levels is S_OK.
    var setAll = false
    /// SetChannelVolume(0, 1) is S_OK (test_channelvolume's last call).
    var restore = false
    /// The values seen, for failure messages.
    var seen = ""

    static func probe(_ v: ChannelVolumes, channels: Int) -> ChannelVolumeFacts {
        var facts = ChannelVolumeFacts()
        facts.channelCount = (try? v.count()) == channels
        facts.getBeyondLast = hresult { _ = try v.get(channels) } == .E_INVALIDARG
        facts.defaultIsOne = (try? v.get(0)) == 1
        facts.setBeyondLast = hresult { try v.set(channels, -1) } == .E_INVALIDARG
        facts.setNegative = hresult { try v.set(0, -1) } == .E_INVALIDARG
        facts.setAboveOne = hresult { try v.set(0, 2) } == .E_INVALIDARG
        facts.set = hresult { try v.set(0, 0.2) } == .S_OK && abs(((try? v.get(0)) ?? -1) - 0.2) < 0.05
        let all = (try? v.getAll()) ?? []
        facts.seen = "\(all)"
        facts.getAll = all.count == channels && abs(all[0] - 0.2) < 0.05 && all.dropFirst().allSatisfy { $0 == 1 }
        facts.setAllShort = hresult { try v.setAll(Array(all.dropLast())) } == .E_INVALIDARG
        facts.setAll = hresult { try v.setAll(all) } == .S_OK
        facts.restore = hresult { try v.set(0, 1) } == .S_OK
        return facts
    }
}

/// What test_volume_dependence observes: a stream's volume, its session's
/// channel volumes and its session's master volume are three settings; a
/// second stream in the session shares the session's, not the stream's.
struct VolumeDependenceFacts {
    /// IAudioStreamVolume channel 0 set to 0.2 reads 0.2 after the other two are set.
    var streamVolume = false
    /// IChannelAudioVolume channel 0 set to 0.4 reads 0.4.
    var channelVolume = false
    /// ISimpleAudioVolume set to 0.6 reads 0.6.
    var simpleVolume = false
    /// A second stream in the session: its IChannelAudioVolume reads 0.4.
    var secondChannelVolume = false
    /// Its IAudioStreamVolume reads exactly 1.
    var secondStreamVolume = false
    /// Both report the mix format's channel count.
    var secondChannelCount = false
    var secondStreamChannelCount = false
    /// Channel 0 and the master volume set back to 1: S_OK.
    var restore = false

    static func probe(_ device: MMDevice) throws -> VolumeDependenceFacts {
        var facts = VolumeDependenceFacts()
        let session = UUID()
        let (client, mix) = try sharedClient(device, flags: .noPersist, session: session)
        let simple = try client.getSimpleAudioVolume()
        let channel = try client.getChannelAudioVolume()
        let stream = try client.getStreamVolume()
        let setStream = hresult { try stream.setChannelVolume(0, level: 0.2) }
        let setChannel = hresult { try channel.setChannelVolume(0, level: 0.4) }
        let setSimple = hresult { try simple.setMasterVolume(0.6) }
        facts.streamVolume = setStream == .S_OK && abs(((try? stream.getChannelVolume(0)) ?? -1) - 0.2) < 0.05
        facts.channelVolume = setChannel == .S_OK && abs(((try? channel.getChannelVolume(0)) ?? -1) - 0.4) < 0.05
        facts.simpleVolume = setSimple == .S_OK && abs(((try? simple.getMasterVolume()) ?? -1) - 0.6) < 0.05
        do {
            let (second, _) = try sharedClient(device, flags: .noPersist, session: session)
            let channel2 = try second.getChannelAudioVolume()
            let stream2 = try second.getStreamVolume()
            facts.secondChannelVolume = abs(((try? channel2.getChannelVolume(0)) ?? -1) - 0.4) < 0.05
            facts.secondStreamVolume = (try? stream2.getChannelVolume(0)) == 1
            facts.secondChannelCount = (try? channel2.getChannelCount()) == Int(mix.channels)
            facts.secondStreamChannelCount = (try? stream2.getChannelCount()) == Int(mix.channels)
        }
        facts.restore = hresult { try channel.setChannelVolume(0, level: 1) } == .S_OK
            && hresult { try simple.setMasterVolume(1) } == .S_OK
        return facts
    }
}
