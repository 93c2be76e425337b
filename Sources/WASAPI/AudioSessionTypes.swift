/// `AudioSessionState`.
public enum AudioSessionState: String, Codable, Sendable {
    /// No stream of the session runs (AudioSessionStateInactive).
    case inactive
    /// At least one stream of the session runs (AudioSessionStateActive).
    case active
    /// Every stream of the session was released (AudioSessionStateExpired).
    case expired
}

/// `AudioSessionDisconnectReason`, with Windows' values.
public enum AudioSessionDisconnectReason: Int, Sendable {
    /// The endpoint's JACK ports vanished.
    case deviceRemoval = 0
    /// The JACK server stopped or dropped this process.
    case serverShutdown = 1
    case formatChanged = 2
    case sessionLogoff = 3
    case sessionDisconnected = 4
    /// An exclusive-mode stream took the endpoint.
    case exclusiveModeOverride = 5
}

/// `AUDIO_STREAM_CATEGORY`, with Windows' values. Streams of the
/// ``communications`` category duck other sessions while they run.
public enum AudioStreamCategory: Int, Sendable {
    case other = 0, foregroundOnlyMedia = 1, communications = 3, alerts = 4, soundEffects = 5
    case gameEffects = 6, gameMedia = 7, gameChat = 8, speech = 9, movie = 10, media = 11
}

/// A GUID in registry format (`{XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}`), as
/// session GUIDs, grouping parameters and event contexts are passed.
///
/// Plain functions; any thread.
public enum GUIDString {
    /// `GUID_NULL`, the context of a change made without one.
    public static let null = "{00000000-0000-0000-0000-000000000000}"

    /// A new random (version 4) GUID.
    public static func random() -> String {
        var generator = SystemRandomNumberGenerator()
        var bytes = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
        bytes[6] = bytes[6] & 0x0F | 0x40
        bytes[8] = bytes[8] & 0x3F | 0x80
        let hex = bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined().uppercased()
        let parts = [hex.prefix(8), hex.dropFirst(8).prefix(4), hex.dropFirst(12).prefix(4),
                     hex.dropFirst(16).prefix(4), hex.dropFirst(20)]
        return "{" + parts.joined(separator: "-") + "}"
    }

    /// Whether `text` is a GUID in registry format (either case).
    public static func isValid(_ text: String) -> Bool {
        let characters = Array(text.utf8)
        guard characters.count == 38, characters.first == UInt8(ascii: "{"), characters.last == UInt8(ascii: "}") else {
            return false
        }
        for (index, character) in characters.enumerated().dropFirst().dropLast() {
            if [9, 14, 19, 24].contains(index) {
                guard character == UInt8(ascii: "-") else { return false }
            } else {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(character)
                        || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(character | 0x20) else { return false }
            }
        }
        return true
    }
}
