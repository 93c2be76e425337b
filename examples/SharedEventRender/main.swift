// Shared-mode, event-driven rendering, in the steps of Microsoft's
// "Rendering a Stream" sample: default endpoint, mix format, Initialize with
// AUDCLNT_STREAMFLAGS_EVENTCALLBACK, fill the buffer each time the event fires.
//
// Usage: SharedEventRender [SERVER] [SECONDS]   (SERVER: a running JACK server's name)
import Foundation
import PCM
import Realtime
import WASAPI

let arguments = CommandLine.arguments
let serverName = arguments.count > 1 ? arguments[1] : nil
let seconds = arguments.count > 2 ? Double(arguments[2]) ?? 2 : 2

do {
    let enumerator = try MMDeviceEnumerator(serverName: serverName)
    let device = try enumerator.getDefaultAudioEndpoint(.render, role: .multimedia)
    let client = try device.activateAudioClient()
    let format = try client.getMixFormat()
    try client.initialize(shareMode: .shared, streamFlags: [.eventCallback], bufferDuration: 100_000, format: format)
    let event = try RealtimeEvent()
    try client.setEventHandle(event)
    let render = try client.getRenderClient()
    let bufferFrames = try client.getBufferSize()
    let channels = Int(format.channels), rate = Double(format.samplesPerSecond)

    var phase = 0.0
    func fill(_ frames: Int) throws {
        let samples = try render.getBuffer(frames: frames).bindMemory(to: Float.self)
        for frame in 0..<frames {
            let value = Float(0.25 * sin(phase))
            phase += 2 * .pi * 440 / rate
            for channel in 0..<channels { samples[frame * channels + channel] = value }
        }
        try render.releaseBuffer(frames: frames)
    }

    // As Microsoft's sample does, the thread that waits for the event joins
    // MMCSS's "Pro Audio" task (here: real-time just under JACK's threads);
    // where the system refuses, it goes on at normal priority.
    let task: ThreadCharacteristics?
    do { task = try enumerator.setThreadCharacteristics("Pro Audio") } catch {
        FileHandle.standardError.write(Data("normal priority: \(error)\n".utf8))
        task = nil
    }
    try fill(bufferFrames)                       // preroll the whole buffer
    try client.start()
    var played = 0
    while Double(played) < seconds * rate {
        guard event.wait(timeoutMilliseconds: 2000) == .signaled else { break }
        let free = bufferFrames - (try client.getCurrentPadding())
        try fill(free)
        played += free
    }
    try client.stop()
    try task?.revert()
    print("played \(played) frames of 440 Hz to \(device.friendlyName)")
} catch {
    print("error: \(error)")
    exit(1)
}
