import AudioGraph
import PCM
import Realtime

/// One packet of captured audio, as `IAudioCaptureClient::GetBuffer` returns it.
public struct CaptureBuffer: @unchecked Sendable {
    /// The packet's frames in the stream's format; valid until ReleaseBuffer.
    public let data: UnsafeRawBufferPointer
    public let frames: Int
    public let flags: BufferFlags
    /// Stream position of the first frame.
    public let devicePosition: UInt64
    /// When the first frame was captured, 100-ns units of the monotonic clock.
    public let qpcPosition: UInt64
}

/// `IAudioCaptureClient`: reads packets from a capture (or loopback) stream.
///
/// Each process cycle produces one packet; ``getBuffer()`` returns the oldest,
/// contiguous (copied into a bounce buffer when it spans the ring's end).
///
/// Thread safety: any thread except JACK's; one GetBuffer/ReleaseBuffer pair at a time.
public final class AudioCaptureClient: Sendable {
    let client: AudioClient

    init(client: AudioClient) { self.client = client }

    /// `GetBuffer`: the next packet, or nil when none is waiting
    /// (AUDCLNT_S_BUFFER_EMPTY).
    /// - Throws: OUT_OF_ORDER when the previous packet was not released.
    public func getBuffer() throws(AudioError) -> CaptureBuffer? {
        try client.withStream { stream, state throws(AudioError) in
            guard state.pendingCapture == nil else {
                throw AudioError(.AUDCLNT_E_OUT_OF_ORDER, "the previous packet was not released")
            }
            try stream.checkConverter()
            guard let packet = stream.nextCapturePacket() else { return nil }
            let ring = stream.ring.pointer
            let region = ring.pointee.acquireRead(maxFrames: packet.frames)
            let bytesPerFrame = ring.pointee.bytesPerFrame
            let bounced = region.secondFrames > 0
            let start: UnsafeRawPointer
            if bounced {
                stream.bounce.copyMemory(from: region.first.baseAddress!, byteCount: region.firstFrames * bytesPerFrame)
                (stream.bounce + region.firstFrames * bytesPerFrame)
                    .copyMemory(from: region.second.baseAddress!, byteCount: region.secondFrames * bytesPerFrame)
                start = UnsafeRawPointer(stream.bounce)
            } else {
                start = UnsafeRawPointer(region.first.baseAddress!)
            }
            state.pendingCapture = AudioClient.PendingBuffer(frames: packet.frames, bounced: bounced, region: region)
            return CaptureBuffer(data: UnsafeRawBufferPointer(start: start, count: packet.frames * bytesPerFrame),
                                 frames: packet.frames, flags: BufferFlags(rawValue: packet.flags),
                                 devicePosition: packet.devicePosition, qpcPosition: packet.qpcPosition)
        }
    }

    /// `ReleaseBuffer`: `frames` must be the packet's size (consumes it) or 0
    /// (keeps it for the next GetBuffer; with nothing held, succeeds as on Windows).
    /// - Throws: OUT_OF_ORDER for frames without a GetBuffer, INVALID_SIZE for any other count.
    public func releaseBuffer(frames: Int) throws(AudioError) {
        try client.state.withLock { state throws(AudioError) in
            guard let stream = state.stream else {
                throw AudioError(.AUDCLNT_E_NOT_INITIALIZED, "initialize the audio client first")
            }
            guard let pending = state.pendingCapture else {
                if frames == 0 { return }
                throw AudioError(.AUDCLNT_E_OUT_OF_ORDER, "ReleaseBuffer without GetBuffer")
            }
            guard frames == 0 || frames == pending.frames else {
                throw AudioError(.AUDCLNT_E_INVALID_SIZE, "release 0 or all \(pending.frames) frames of the packet, not \(frames)")
            }
            state.pendingCapture = nil
            guard frames > 0 else { return }
            stream.ring.pointer.pointee.commitRead(frames)
            stream.popCapturePacket()
        }
    }

    /// `GetNextPacketSize`: frames in the next packet, 0 when none waits.
    public func getNextPacketSize() throws(AudioError) -> Int {
        try client.withStream { stream, _ in stream.nextCapturePacket()?.frames ?? 0 }
    }
}
