import Foundation
import JackTestSupport
import Realtime
import Synchronization
import WASAPI

/// An AudioSessionEvents that records every call, for assertions.
final class RecordingSessionEvents: AudioSessionEvents {
    enum Call: Equatable, Sendable {
        case simpleVolume(Float, mute: Bool, context: UUID?)
        case displayName(String, context: UUID?)
        case state(AudioSessionState)
        case disconnected(AudioSessionDisconnectReason)
    }

    private let calls = Mutex<[Call]>([])
    var recorded: [Call] { calls.withLock { $0 } }

    func onSimpleVolumeChanged(volume: Float, mute: Bool, context: UUID?) {
        calls.withLock { $0.append(.simpleVolume(volume, mute: mute, context: context)) }
    }
    func onDisplayNameChanged(_ displayName: String, context: UUID?) {
        calls.withLock { $0.append(.displayName(displayName, context: context)) }
    }
    func onStateChanged(_ state: AudioSessionState) { calls.withLock { $0.append(.state(state)) } }
    func onSessionDisconnected(_ reason: AudioSessionDisconnectReason) { calls.withLock { $0.append(.disconnected(reason)) } }

    /// Waits (polling) until `call` was recorded, up to `seconds`.
    func wait(for call: Call, seconds: Double = 5) async -> Bool {
        for _ in 0..<Int(seconds * 100) where !recorded.contains(call) {
            try? await pause(for: .milliseconds(10))
        }
        return recorded.contains(call)
    }
}

/// An AudioVolumeDuckNotification that records every call.
final class RecordingDuckNotification: AudioVolumeDuckNotification {
    enum Call: Equatable, Sendable {
        case duck(String, count: Int)
        case unduck(String)
    }

    private let calls = Mutex<[Call]>([])
    var recorded: [Call] { calls.withLock { $0 } }

    func onVolumeDuckNotification(sessionID: String, countCommunicationSessions: Int) {
        calls.withLock { $0.append(.duck(sessionID, count: countCommunicationSessions)) }
    }
    func onVolumeUnduckNotification(sessionID: String) { calls.withLock { $0.append(.unduck(sessionID)) } }

    /// Waits (polling) until exactly `expected` was recorded, up to `seconds`.
    func wait(for expected: [Call], seconds: Double = 5) async -> Bool {
        for _ in 0..<Int(seconds * 100) where recorded != expected {
            try? await pause(for: .milliseconds(10))
        }
        return recorded == expected
    }
}

/// An event-driven shared render stream of float stereo at the mix format,
/// fed on its own thread: left = a sine, right = a sine or a constant.
final class FloatToneStream: @unchecked Sendable {
    let client: AudioClient
    private let render: AudioRenderClient
    private let event: RealtimeEvent
    private let bufferFrames: Int
    private let left: (Int) -> Float
    private let right: (Int) -> Float
    private var frame = 0
    private var feeder: StreamThread?

    /// `sessionGUID` nil: the process's default session.
    init(device: MMDevice, sessionGUID: UUID? = nil, category: AudioStreamCategory = .other,
         left: @escaping (Int) -> Float, right: @escaping (Int) -> Float) throws {
        client = try device.activateAudioClient()
        try client.setClientProperties(category: category)
        try client.initialize(shareMode: .shared, streamFlags: [.eventCallback], bufferDuration: 2_000_000,
                              format: try client.getMixFormat(), sessionGUID: sessionGUID)
        event = try RealtimeEvent()
        try client.setEventHandle(event)
        render = try client.getRenderClient()
        bufferFrames = try client.getBufferSize()
        self.left = left
        self.right = right
    }

    /// A sine of `frequency` Hz and `amplitude` at 48 kHz.
    static func sine(_ frequency: Double, _ amplitude: Double) -> (Int) -> Float {
        { Float(amplitude * sin(2 * .pi * frequency * Double($0) / 48_000)) }
    }

    func start() throws {
        try fill()
        try client.start()
        feeder = StreamThread { [self] in
            guard event.wait(timeoutMilliseconds: 2000) == .signaled else { return false }
            return (try? fill()) != nil
        }
    }

    func stop() throws {
        feeder?.stop()
        feeder = nil
        try client.stop()
    }

    private func fill() throws {
        let frames = bufferFrames - (try client.getCurrentPadding())
        guard frames > 0 else { return }
        let buffer = try render.getBuffer(frames: frames).bindMemory(to: Float.self)
        for index in 0..<frames {
            buffer[2 * index] = left(frame)
            buffer[2 * index + 1] = right(frame)
            frame += 1
        }
        try render.releaseBuffer(frames: frames)
    }
}

/// A loopback capture of a render endpoint, drained on demand.
final class EndpointRecorder: @unchecked Sendable {
    let client: AudioClient
    let recording: LoopbackRecording

    init(device: MMDevice) throws {
        client = try device.activateAudioClient()
        try client.initialize(shareMode: .shared, streamFlags: [.loopback], bufferDuration: 50_000_000,
                              format: try client.getMixFormat())
        recording = LoopbackRecording(try client.getCaptureClient())
        try client.start()
    }

    /// Records until at least `frames` more frames arrived (at most 30 s).
    func record(frames: Int) async throws {
        let target = try recording.drain() + frames
        let deadline = ContinuousClock.now + .seconds(30)
        while try recording.drain() < target && ContinuousClock.now < deadline {
            try await pause(for: .milliseconds(10))
        }
    }
}

enum ToneMeasure {
    /// The amplitude of the `frequency` component of `samples` at 48 kHz
    /// (a single-bin DFT; exact for whole numbers of cycles in the window).
    static func amplitude(of frequency: Double, in samples: ArraySlice<Float>) -> Double {
        var re = 0.0, im = 0.0
        for (offset, sample) in samples.enumerated() {
            let phase = 2 * .pi * frequency * Double(offset) / 48_000
            re += Double(sample) * cos(phase)
            im += Double(sample) * sin(phase)
        }
        return 2 * (re * re + im * im).squareRoot() / Double(max(samples.count, 1))
    }

    static func decibels(_ ratio: Double) -> Double { 20 * log10(ratio) }
}

/// Runs a JACK tool (e.g. `jack_property`) against `server` (at most 20 s)
/// and returns its exit status.
func runJackTool(_ path: String, _ arguments: [String], server: String) throws -> Int32 {
    try runProgram(path, arguments, environment: ["JACK_DEFAULT_SERVER": server], timeoutSeconds: 20).status
}

/// Runs `body` with `WASAPI_JACK_CONFIG_DIR` set to `directory` (the
/// environment is process-wide: call it while holding the server gate).
func withConfigDirectory(_ directory: String, _ body: () async throws -> Void) async throws {
    setenv("WASAPI_JACK_CONFIG_DIR", directory, 1)
    defer { unsetenv("WASAPI_JACK_CONFIG_DIR") }
    try await body()
}

/// An AudioEndpointVolumeCallback that records every notification.
final class RecordingEndpointVolumeCallback: AudioEndpointVolumeCallback {
    private let calls = Mutex<[AudioVolumeNotificationData]>([])
    var recorded: [AudioVolumeNotificationData] { calls.withLock { $0 } }

    func onNotify(_ data: AudioVolumeNotificationData) { calls.withLock { $0.append(data) } }

    /// Waits (polling) until a notification satisfying `predicate` arrived, up to `seconds`.
    func wait(seconds: Double = 5, for predicate: (AudioVolumeNotificationData) -> Bool) async -> Bool {
        for _ in 0..<Int(seconds * 100) where !recorded.contains(where: predicate) {
            try? await pause(for: .milliseconds(10))
        }
        return recorded.contains(where: predicate)
    }
}

/// An AudioSessionNotification that records the GUIDs of created sessions.
final class RecordingSessionNotification: AudioSessionNotification {
    private let guids = Mutex<[UUID]>([])
    var recorded: [UUID] { guids.withLock { $0 } }

    func onSessionCreated(_ session: AudioSessionControl) {
        if let guid = try? session.getSessionGUID() { guids.withLock { $0.append(guid) } }
    }
}

/// Writes a 48 kHz 16-bit stereo WAV file holding a sine on both channels.
func writeToneWAV(path: String, frequency: Double, amplitude: Double, seconds: Double) throws {
    let frames = Int(48_000 * seconds)
    var bytes: [UInt8] = []
    func append<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
    bytes += Array("RIFF".utf8); append(UInt32(36 + frames * 4)); bytes += Array("WAVEfmt ".utf8)
    append(UInt32(16)); append(UInt16(1)); append(UInt16(2)); append(UInt32(48_000)); append(UInt32(192_000))
    append(UInt16(4)); append(UInt16(16)); bytes += Array("data".utf8); append(UInt32(frames * 4))
    for frame in 0..<frames {
        let value = Int16((amplitude * sin(2 * .pi * frequency * Double(frame) / 48_000) * 32768).rounded())
        append(value); append(value)
    }
    try Data(bytes).write(to: URL(fileURLWithPath: path))
}
