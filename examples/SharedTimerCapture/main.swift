// Shared-mode, timer-driven capture, in the steps of Microsoft's "Capturing a
// Stream" sample: sleep for half the buffer, then drain every waiting packet.
//
// Usage: SharedTimerCapture [SERVER] [SECONDS]
import Foundation
import PCM
import WASAPI

let arguments = CommandLine.arguments
let serverName = arguments.count > 1 ? arguments[1] : nil
let seconds = arguments.count > 2 ? Double(arguments[2]) ?? 2 : 2

do {
    let enumerator = try MMDeviceEnumerator(serverName: serverName)
    let device = try enumerator.getDefaultAudioEndpoint(.capture, role: .console)
    let client = try device.activateAudioClient()
    let format = WaveFormat(.int16, sampleRate: 48_000, channels: 2, extensible: false)
    try client.initialize(shareMode: .shared, streamFlags: [.autoConvertPCM], bufferDuration: 1_000_000, format: format)
    let capture = try client.getCaptureClient()
    let bufferFrames = try client.getBufferSize()
    try client.start()
    var captured = 0, peak: Int16 = 0, discontinuities = 0
    while Double(captured) < seconds * 48_000 {
        usleep(useconds_t(Double(bufferFrames) / 48_000 / 2 * 1_000_000))
        while try capture.getNextPacketSize() > 0, let packet = try capture.getBuffer() {
            if packet.flags.contains(.dataDiscontinuity) { discontinuities += 1 }
            for sample in packet.data.bindMemory(to: Int16.self) { peak = max(peak, sample == .min ? .max : abs(sample)) }
            captured += packet.frames
            try capture.releaseBuffer(frames: packet.frames)
        }
    }
    try client.stop()
    print("captured \(captured) frames from \(device.friendlyName), peak \(peak), discontinuities \(discontinuities)")
} catch {
    print("error: \(error)")
    exit(1)
}
