// Loopback capture, as in Microsoft's loopback recording example: a capture
// stream on a render endpoint (AUDCLNT_STREAMFLAGS_LOOPBACK) records the mix
// that endpoint plays, here while a second stream plays a tone into it.
//
// Usage: LoopbackCapture [SERVER] [SECONDS]
import Foundation
import PCM
import WASAPI

let arguments = CommandLine.arguments
let serverName = arguments.count > 1 ? arguments[1] : nil
let seconds = arguments.count > 2 ? Double(arguments[2]) ?? 1 : 1

do {
    let enumerator = try MMDeviceEnumerator(serverName: serverName)
    let device = try enumerator.getDefaultAudioEndpoint(.render, role: .console)
    let format = try device.activateAudioClient().getMixFormat()
    let channels = Int(format.channels), rate = Int(format.samplesPerSecond)

    let loopback = try device.activateAudioClient()
    try loopback.initialize(shareMode: .shared, streamFlags: [.loopback], bufferDuration: 10_000_000, format: format)
    let capture = try loopback.getCaptureClient()

    let player = try device.activateAudioClient()
    try player.initialize(shareMode: .shared, streamFlags: [], bufferDuration: 10_000_000, format: format)
    let render = try player.getRenderClient()
    let toneFrames = min(Int(seconds * Double(rate)), try player.getBufferSize())
    let samples = try render.getBuffer(frames: toneFrames).bindMemory(to: Float.self)
    for frame in 0..<toneFrames {
        let value = Float(0.5 * sin(2 * .pi * 1000 * Double(frame) / Double(rate)))
        for channel in 0..<channels { samples[frame * channels + channel] = value }
    }
    try render.releaseBuffer(frames: toneFrames)

    try loopback.start()
    try player.start()
    var recorded = 0, peak: Float = 0
    while recorded < toneFrames + rate / 10 {
        usleep(10_000)
        while let packet = try capture.getBuffer() {
            for sample in packet.data.bindMemory(to: Float.self) { peak = max(peak, abs(sample)) }
            recorded += packet.frames
            try capture.releaseBuffer(frames: packet.frames)
        }
    }
    try player.stop()
    try loopback.stop()
    print("loopback recorded \(recorded) frames of the mix, peak \(peak) (the tone played at 0.5)")
} catch {
    print("error: \(error)")
    exit(1)
}
