// Exclusive-mode, event-driven rendering, in the steps of Microsoft's
// "Exclusive-Mode Streams" sample: take the device period, initialize with
// bufferDuration == periodicity, and on AUDCLNT_E_BUFFER_SIZE_NOT_ALIGNED
// re-create the client with the aligned size GetBufferSize reports. Each event
// asks for exactly one buffer (ping-pong).
//
// Usage: ExclusiveEventRender [SERVER] [SECONDS]
import Foundation
import PCM
import Realtime
import WASAPI

/// Initializes `client` for exclusive event-driven use with a buffer of
/// `requested` (100-ns units); when that is not a whole number of device
/// periods, re-creates the client with the aligned size, as Windows asks.
func initializeAligned(_ client: AudioClient, device: MMDevice, format: WaveFormat,
                       requested: ReferenceTime) throws(AudioError) -> AudioClient {
    do {
        try client.initialize(shareMode: .exclusive, streamFlags: [.eventCallback], bufferDuration: requested,
                              periodicity: requested, format: format)
        return client
    } catch {
        guard error.code == .AUDCLNT_E_BUFFER_SIZE_NOT_ALIGNED else { throw error }
        let aligned = try client.getBufferSize()
        let period = ReferenceTime(10_000_000.0 / Double(format.samplesPerSecond) * Double(aligned) + 0.5)
        print("aligned the buffer to \(aligned) frames")
        let fresh = try device.activateAudioClient()
        try fresh.initialize(shareMode: .exclusive, streamFlags: [.eventCallback], bufferDuration: period,
                             periodicity: period, format: format)
        return fresh
    }
}

let arguments = CommandLine.arguments
let serverName = arguments.count > 1 ? arguments[1] : nil
let seconds = arguments.count > 2 ? Double(arguments[2]) ?? 2 : 2

do {
    let enumerator = try MMDeviceEnumerator(serverName: serverName)
    let device = try enumerator.getDefaultAudioEndpoint(.render, role: .console)
    var client = try device.activateAudioClient()
    let mix = try client.getMixFormat()
    // 16-bit at the device's rate and channel count: native for exclusive use.
    let format = WaveFormat(.int16, sampleRate: Int(mix.samplesPerSecond), channels: Int(mix.channels), extensible: false)
    guard try client.isFormatSupported(.exclusive, format: format) == .supported else { exit(1) }
    // Ask for 3 ms, which is not a whole number of JACK periods on most servers.
    client = try initializeAligned(client, device: device, format: format, requested: 30_000)
    let event = try RealtimeEvent()
    try client.setEventHandle(event)
    let render = try client.getRenderClient()
    let bufferFrames = try client.getBufferSize()
    let channels = Int(format.channels), rate = Double(format.samplesPerSecond)

    var phase = 0.0
    func fill() throws {
        let samples = try render.getBuffer(frames: bufferFrames).bindMemory(to: Int16.self)
        for frame in 0..<bufferFrames {
            let value = Int16(8192 * sin(phase))
            phase += 2 * .pi * 660 / rate
            for channel in 0..<channels { samples[frame * channels + channel] = value }
        }
        try render.releaseBuffer(frames: bufferFrames)
    }

    // As Microsoft's sample does, the thread that waits for the event joins
    // MMCSS's "Pro Audio" task (here: real-time just under JACK's threads);
    // where the system refuses, it goes on at normal priority.
    let task: ThreadCharacteristics?
    do { task = try enumerator.setThreadCharacteristics("Pro Audio") } catch {
        FileHandle.standardError.write(Data("normal priority: \(error)\n".utf8))
        task = nil
    }
    try fill()
    try client.start()
    var played = 0
    while Double(played) < seconds * rate {
        guard event.wait(timeoutMilliseconds: 2000) == .signaled else { break }
        // The buffer drained at the event; an underrun is visible as padding 0 too.
        guard try client.getCurrentPadding() == 0 else { continue }
        try fill()
        played += bufferFrames
    }
    try client.stop()
    try task?.revert()
    print("played \(played) frames in exclusive mode, \(bufferFrames)-frame buffers, to \(device.friendlyName)")
} catch {
    print("error: \(error)")
    exit(1)
}
