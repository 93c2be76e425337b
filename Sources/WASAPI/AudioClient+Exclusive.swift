import AudioGraph
import PCM

/// Exclusive mode: the stream owns its endpoint and direction.
///
/// On JACK "owning" means: one exclusive stream per endpoint and direction
/// among all processes of the user on the server (``ExclusiveLock``); while
/// it exists, other streams on the endpoint are kept silent and new shared
/// ones are refused with AUDCLNT_E_DEVICE_IN_USE; its format is the device's
/// native one (the JACK rate and the endpoint's channels; float or integer
/// samples, converted without resampling); its buffer is whole JACK periods.
extension AudioClient {
    /// The exclusive stream's buffer in frames, by Windows' rules:
    /// - event-driven: `bufferDuration` must equal `periodicity`
    ///   (AUDCLNT_E_BUFDURATION_PERIOD_NOT_EQUAL); both 0 means one period;
    /// - a periodicity below one JACK period: AUDCLNT_E_INVALID_DEVICE_PERIOD;
    /// - a buffer that is not a whole number of JACK periods:
    ///   AUDCLNT_E_BUFFER_SIZE_NOT_ALIGNED, after which GetBufferSize returns
    ///   the aligned size to retry with.
    func exclusiveBufferFrames(streamFlags: StreamFlags, bufferDuration: ReferenceTime,
                               periodicity: ReferenceTime, rate: Int, state: inout State) throws(AudioError) -> Int {
        let period = engine.bufferSize
        let periodDuration = ReferenceTime.duration(frames: period, rate: rate)
        var duration = bufferDuration
        if streamFlags.contains(.eventCallback) {
            if bufferDuration == 0 && periodicity == 0 {
                duration = periodDuration
            } else if bufferDuration != periodicity {
                throw AudioError(.AUDCLNT_E_BUFDURATION_PERIOD_NOT_EQUAL,
                                 "an event-driven exclusive stream needs bufferDuration == periodicity (\(bufferDuration) != \(periodicity))")
            }
        }
        if periodicity != 0 && periodicity < periodDuration {
            throw AudioError(.AUDCLNT_E_INVALID_DEVICE_PERIOD,
                             "a period of \(periodicity) is below the device's \(periodDuration) (one JACK period)")
        }
        let frames = max(ReferenceTime.nearestFrames(duration, rate: rate), period)
        guard frames % period == 0 else {
            let aligned = (frames / period + 1) * period
            state.alignedBufferFrames = aligned
            throw AudioError(.AUDCLNT_E_BUFFER_SIZE_NOT_ALIGNED,
                             "\(frames) frames is not a whole number of \(period)-frame periods; GetBufferSize gives the aligned \(aligned)")
        }
        return frames
    }

    /// Engine cycles per event of an exclusive stream: the requested
    /// periodicity rounded up to whole JACK periods (0: one period).
    func exclusiveCyclesPerEvent(periodicity: ReferenceTime, rate: Int) -> Int {
        let period = engine.bufferSize
        let frames = ReferenceTime.nearestFrames(periodicity, rate: rate)
        return max(1, (frames + period - 1) / period)
    }

    /// Whether `format` is the device's native format for exclusive use.
    func isNativeFormat(_ format: WaveFormat, endpoint: EndpointDescriptor) -> Bool {
        Int(format.samplesPerSecond) == engine.sampleRate && Int(format.channels) == endpoint.channelCount
    }

    /// Tells every engine on the server to recheck exclusive use (they silence
    /// or release their shared streams on the endpoint).
    /// - Returns: false when the announcement could not be written (no own
    ///   client, or JACK refused the property).
    @discardableResult
    func announceExclusiveChange() -> Bool {
        // The engine writes nothing through a client its server dropped (the
        // other engines recheck on the shutdown) nor while the process exits.
        guard let subject = engine.ownSubject else { return false }
        return engine.setProperty(ExclusiveLock.changeKey, of: subject, to: "\(engine.nowNanoseconds)")
    }
}
