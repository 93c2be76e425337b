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

