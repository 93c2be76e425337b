import AudioGraph
import PCM
import Realtime

// IAudioClient's stream control (Start, Stop, Reset, SetEventHandle) and
// GetService. Same thread rules as the rest of AudioClient.
extension AudioClient {
    // MARK: Control

    /// `Start`.
    /// - Throws: NOT_INITIALIZED, NOT_STOPPED (already running),
    ///   EVENTHANDLE_NOT_SET (event-driven without an event), DEVICE_INVALIDATED.
    public func start() throws(AudioError) {
        try withStream { stream, state throws(AudioError) in
            guard !state.running else { throw AudioError(.AUDCLNT_E_NOT_STOPPED, "the stream is already running") }
            if stream.flags.contains(.eventCallback) && state.event == nil {
                throw AudioError(.AUDCLNT_E_EVENTHANDLE_NOT_SET, "an event-driven stream needs setEventHandle before start")
            }
            let slot = stream.slot.pointer
            slot.pointee.eventInterval.store(state.cyclesPerEvent, ordering: .relaxed)
            slot.pointee.eventsStarted.store(true, ordering: .relaxed)
            slot.pointee.discontinuityPending.store(true, ordering: .relaxed)
            slot.pointee.running.store(true, ordering: .releasing)
            state.running = true
            if let session = state.session { session.hub.setRunning(session, true) }
        }
    }

    /// `Stop`. Returns S_FALSE when the stream was already stopped, S_OK otherwise.
    @discardableResult
    public func stop() throws(AudioError) -> HRESULT {
        try state.withLock { state throws(AudioError) in
            guard let stream = state.stream else {
                throw AudioError(.AUDCLNT_E_NOT_INITIALIZED, "initialize the audio client first")
            }
            guard state.running else { return .S_FALSE }
            stream.slot.pointer.pointee.running.store(false, ordering: .releasing)
            state.running = false
            if let session = state.session { session.hub.setRunning(session, false) }
            return .S_OK
        }
    }

    /// `Reset`: empties the buffer; a render stream's position goes back to
    /// 0, a capture stream's position keeps counting (the dropped frames
    /// included), as on Windows. Returns S_OK, also when there was nothing
    /// to drop (native Windows; the documentation's S_FALSE is not what it does).
    /// - Throws: NOT_STOPPED while running, BUFFER_OPERATION_PENDING between
    ///   GetBuffer and ReleaseBuffer, DEVICE_INVALIDATED when a cycle begun
    ///   before Stop never finished (the engine's cycles are stuck): the ring
    ///   is then left untouched, since the process thread may still be using
    ///   it. Windows has no code for a hung audio engine; DEVICE_INVALIDATED
    ///   is the one that tells the application to release the client and
    ///   make a new one, which is the only recovery.
    @discardableResult
    public func reset() throws(AudioError) -> HRESULT {
        try withStream { stream, state throws(AudioError) in
            guard !state.running else { throw AudioError(.AUDCLNT_E_NOT_STOPPED, "stop the stream before reset") }
            guard state.pendingRender == nil && state.pendingCapture == nil else {
                throw AudioError(.AUDCLNT_E_BUFFER_OPERATION_PENDING, "release the buffer before reset")
            }
            // The process thread may still be in a cycle that began before Stop.
            guard engine.waitForCyclesInFlight() else {
                throw AudioError(.AUDCLNT_E_DEVICE_INVALIDATED,
                                 "reset: waiting for the engine's cycle in flight timed out (cycles stuck); the buffer was not touched")
            }
            let slot = stream.slot.pointer
            stream.ring.pointer.pointee.reset()
            stream.resetConversion()
            slot.pointee.packets.pointee.reset()
            slot.pointee.lastCycleFrames.store(0, ordering: .relaxed)
            // Capture keeps its position: the frames dropped count as read,
            // and the next packet's position is where the device is.
            if stream.direction == .render {
                slot.pointee.streamPosition.store(0, ordering: .relaxed)
                slot.pointee.devicePosition.store(0, ordering: .relaxed)
                state.lastReportedPosition = 0
            }
            return .S_OK
        }
    }

    /// `SetEventHandle`: the event raised once per period from the first
    /// Start on, also while stopped and after Reset (as on Windows).
    /// - Throws: EVENTHANDLE_NOT_EXPECTED unless initialised with
    ///   AUDCLNT_STREAMFLAGS_EVENTCALLBACK; E_UNEXPECTED when an event is
    ///   already set (Windows 10 refuses to replace it).
    public func setEventHandle(_ event: RealtimeEvent) throws(AudioError) {
        try withStream { stream, state throws(AudioError) in
            guard stream.flags.contains(.eventCallback) else {
                throw AudioError(.AUDCLNT_E_EVENTHANDLE_NOT_EXPECTED, "the stream was not initialized with AUDCLNT_STREAMFLAGS_EVENTCALLBACK")
            }
            guard state.event == nil else {
                throw AudioError(.E_UNEXPECTED, "the stream already has an event handle; it cannot be replaced")
            }
            state.event = event
            stream.slot.pointer.pointee.eventDescriptor.store(event.fileDescriptor, ordering: .releasing)
        }
    }

    // MARK: Services

    /// `GetService(IAudioRenderClient)`.
    /// - Throws: WRONG_ENDPOINT_TYPE on a capture stream.
    public func getRenderClient() throws(AudioError) -> AudioRenderClient {
        try withStream { stream, _ throws(AudioError) in
            guard stream.direction == .render else {
                throw AudioError(.AUDCLNT_E_WRONG_ENDPOINT_TYPE, "a capture stream has no render client")
            }
            return AudioRenderClient(client: self)
        }
    }

    /// `GetService(IAudioCaptureClient)`.
    /// - Throws: WRONG_ENDPOINT_TYPE on a render stream.
    public func getCaptureClient() throws(AudioError) -> AudioCaptureClient {
        try withStream { stream, _ throws(AudioError) in
            guard stream.direction == .capture else {
                throw AudioError(.AUDCLNT_E_WRONG_ENDPOINT_TYPE, "a render stream has no capture client")
            }
            return AudioCaptureClient(client: self)
        }
    }

    /// `GetService(IAudioClock)` (also IAudioClock2).
    public func getClock() throws(AudioError) -> AudioClock {
        try withStream { _, _ in AudioClock(client: self) }
    }

    /// `GetService(IAudioStreamVolume)`.
    public func getStreamVolume() throws(AudioError) -> AudioStreamVolume {
        try withStream { _, _ in AudioStreamVolume(client: self) }
    }

    /// `GetService(IAudioClockAdjustment)`.
    /// - Throws: E_INVALIDARG unless initialised with AUDCLNT_STREAMFLAGS_RATEADJUST (as native Windows).
    public func getClockAdjustment() throws(AudioError) -> AudioClockAdjustment {
        try withStream { stream, _ throws(AudioError) in
            guard stream.flags.contains(.rateAdjust) else {
                throw AudioError(.E_INVALIDARG, "IAudioClockAdjustment needs AUDCLNT_STREAMFLAGS_RATEADJUST")
            }
            return AudioClockAdjustment(client: self)
        }
    }
}
