import AudioGraph
import PCM
import Realtime

/// `IAudioRenderClient`: writes frames into a render stream's buffer.
///
/// ``getBuffer(frames:)`` hands out a contiguous region of the stream's ring
/// in the stream's own format (or, when the request spans the ring's end, a
/// bounce buffer that ``releaseBuffer(frames:flags:)`` copies in), so the
/// application writes in place as on Windows.
///
/// Thread safety: any thread except JACK's; one GetBuffer/ReleaseBuffer pair at a time.
public final class AudioRenderClient: Sendable {
    let client: AudioClient

    init(client: AudioClient) { self.client = client }

    /// `GetBuffer`: room for `frames` frames. `frames` 0 returns an empty
    /// buffer and holds nothing (native Windows: S_OK with no data).
    /// - Throws: BUFFER_TOO_LARGE when `frames` exceeds the free space
    ///   (buffer size minus padding), OUT_OF_ORDER when a previous buffer was
    ///   not released, DEVICE_INVALIDATED, NOT_INITIALIZED.
    public func getBuffer(frames: Int) throws(AudioError) -> UnsafeMutableRawBufferPointer {
        try client.withStream { stream, state throws(AudioError) in
            guard state.pendingRender == nil else {
                throw AudioError(.AUDCLNT_E_OUT_OF_ORDER, "the previous GetBuffer was not released")
            }
            guard frames >= 0 else { throw AudioError(.E_INVALIDARG, "a negative frame count") }
            try stream.checkConverter()
            guard frames > 0 else { return UnsafeMutableRawBufferPointer(start: nil, count: 0) }
            let ring = stream.ring.pointer
            // The buffer is the application's: its free space is what
            // GetCurrentPadding leaves (frames already converted count).
            let free = min(stream.bufferFrames - stream.padding(), ring.pointee.writableFrames())
            guard frames <= free else {
                throw AudioError(.AUDCLNT_E_BUFFER_TOO_LARGE, "\(frames) frames requested, \(free) free of \(stream.bufferFrames)")
            }
            let region = ring.pointee.acquireWrite(maxFrames: frames)
            let bytesPerFrame = ring.pointee.bytesPerFrame
            let bounced = region.secondFrames > 0
            state.pendingRender = AudioClient.PendingBuffer(frames: frames, bounced: bounced, region: region)
            if bounced {
                return UnsafeMutableRawBufferPointer(start: stream.bounce, count: frames * bytesPerFrame)
            }
            return UnsafeMutableRawBufferPointer(start: region.first.baseAddress, count: frames * bytesPerFrame)
        }
    }

    /// `ReleaseBuffer`: queues the first `frames` frames of the last
    /// GetBuffer (fewer than requested is allowed; 0 releases nothing).
    /// With ``BufferFlags/silent`` the frames are queued as silence.
    /// Releasing 0 frames with nothing held succeeds (as on Windows).
    /// - Throws: OUT_OF_ORDER for frames without a GetBuffer, INVALID_SIZE
    ///   when `frames` exceeds what GetBuffer gave.
    public func releaseBuffer(frames: Int, flags: BufferFlags = []) throws(AudioError) {
        try client.state.withLock { state throws(AudioError) in
            guard let stream = state.stream else {
                throw AudioError(.AUDCLNT_E_NOT_INITIALIZED, "initialize the audio client first")
            }
            guard let pending = state.pendingRender else {
                if frames == 0 { return }
                throw AudioError(.AUDCLNT_E_OUT_OF_ORDER, "ReleaseBuffer without GetBuffer")
            }
            guard frames >= 0, frames <= pending.frames else {
                throw AudioError(.AUDCLNT_E_INVALID_SIZE, "\(frames) frames released, \(pending.frames) were requested")
            }
            state.pendingRender = nil
            let ring = stream.ring.pointer
            let bytesPerFrame = ring.pointee.bytesPerFrame
            let first = min(frames, pending.region.firstFrames)
            let second = frames - first
            if flags.contains(.silent) {
                fillSilence(pending.region.first.baseAddress!, frames: first, stream: stream)
                if second > 0 { fillSilence(pending.region.second.baseAddress!, frames: second, stream: stream) }
            } else if pending.bounced {
                pending.region.first.baseAddress!.copyMemory(from: stream.bounce, byteCount: first * bytesPerFrame)
                if second > 0 {
                    pending.region.second.baseAddress!.copyMemory(from: stream.bounce + first * bytesPerFrame,
                                                                  byteCount: second * bytesPerFrame)
                }
            }
            ring.pointee.commitWrite(frames)
            stream.pumpConversion()
        }
    }

    private func fillSilence(_ start: UnsafeMutableRawPointer, frames: Int, stream: StreamResources) {
        let bytes = frames * stream.ring.pointer.pointee.bytesPerFrame
        // 8-bit PCM is unsigned: its silence is 0x80.
        start.initializeMemory(as: UInt8.self, repeating: stream.sampleFormat == .uint8 ? 0x80 : 0, count: bytes)
    }
}
