import Foundation
import Realtime
import WASAPI

/// How many wake-ups fell below `upToMicroseconds` (and at or above the
/// previous bin's bound); nil: every longer one.
struct HistogramBin: Codable, Equatable {
    var upToMicroseconds: Int?
    var count: Int
}

/// One run of a shared event-driven render stream that keeps `bufferFrames`
/// queued (the latency it adds) in a stream buffer of `streamBufferFrames`.
struct BufferTrial: Codable, Equatable {
    var bufferFrames: Int
    /// The stream's whole buffer (the library's shared minimum is three periods and 64 frames).
    var streamBufferFrames: Int
    /// How long it ran (less than asked when an underrun ended it early).
    var seconds: Double
    /// Frames the engine found missing (played as silence).
    var underrunFrames: Int
}

/// The wake-up delays and buffer trials of one thread priority.
struct PriorityJitter: Codable {
    /// `normal` or `pro-audio`.
    var priority: String
    /// The SCHED_FIFO priority the thread ran at (nil: ordinary scheduling).
    var realtimePriority: Int?
    /// Why "Pro Audio" was refused, if it was.
    var note: String?
    var wakeups: Int
    /// Events raised while the thread had not yet woken for an earlier one.
    var missedEvents: Int
    var medianMicroseconds: Double
    var p99Microseconds: Double
    var maxMicroseconds: Double
    var histogram: [HistogramBin]
    /// The smallest buffer that ran for the whole trial without an underrun (nil: none of those tried).
    var smallestBufferFrames: Int?
    var bufferTrials: [BufferTrial]
}

/// Wake-up jitter of event-driven threads at normal and "Pro Audio" priority.
struct JitterReport: Codable {
    var periodFrames: Int
    /// Seconds of wake-ups measured per priority.
    var seconds: Double
    /// Seconds a buffer had to run without an underrun.
    var bufferSeconds: Double
    /// Busy threads at ordinary priority running meanwhile.
    var loadThreads: Int
    var priorities: [PriorityJitter]
}

/// Measures, at each priority on a thread of its own: how late the thread
/// wakes after a cycle's event (``WakeupProbe``), then the smallest shared
/// buffer (in whole periods, smallest first) an event-driven render thread
/// keeps filled for `bufferSeconds` without an underrun.
///
/// Control path; blocks for about 2 x (seconds + bufferSeconds + the failed trials).
struct WakeupJitter {
    var seconds: Double
    var bufferSeconds: Double
    var loadThreads: Int
    /// Buffer sizes tried, in periods.
    var bufferPeriods = [1, 2, 3, 4, 6, 8, 16, 32]
    /// Upper bounds of the histogram's bins, in microseconds.
    static let binBounds = [10, 20, 50, 100, 200, 500, 1000, 2000, 5000]

    func run(enumerator: MMDeviceEnumerator) throws -> JitterReport {
        let probe = try WakeupProbe(serverName: enumerator.serverName)
        let device = try enumerator.getDefaultAudioEndpoint(.render, role: .multimedia)
        let load = BusyLoad(threads: loadThreads)
        defer { load.stop() }
        var results: [PriorityJitter] = []
        for priority in [ThreadPriority.normal, .proAudio] {
            let outcome = OwnThread.run { () -> Result<PriorityJitter, any Error> in
                Result { try measure(priority, probe: probe, device: device, enumerator: enumerator) }
            }
            results.append(try outcome.get())
        }
        return JitterReport(periodFrames: probe.periodFrames, seconds: seconds, bufferSeconds: bufferSeconds,
                            loadThreads: loadThreads, priorities: results)
    }

    private func measure(_ priority: ThreadPriority, probe: WakeupProbe, device: MMDevice,
                         enumerator: MMDeviceEnumerator) throws -> PriorityJitter {
        var characteristics: ThreadCharacteristics?
        var note: String?
        if priority == .proAudio {
            do { characteristics = try enumerator.setThreadCharacteristics() } catch { note = error.message }
        }
        defer { try? characteristics?.revert() }
        guard let (delays, missed) = probe.collect(seconds: seconds), !delays.isEmpty else {
            throw CommandFailure("no JACK cycle raised the wake-up probe's event for 2 s")
        }
        var trials: [BufferTrial] = []
        let period = probe.periodFrames
        for periods in bufferPeriods {
            let trial = try BufferTrialRun(device: device, queuedFrames: periods * period, seconds: bufferSeconds).run()
            trials.append(trial)
            printToStandardError("\(priority.rawValue): \(trial.bufferFrames)-frame buffer, "
                                 + "\(trial.underrunFrames) frames underrun in \(String(format: "%.1f", trial.seconds)) s")
            if trial.underrunFrames == 0 { break }
        }
        let microseconds = delays.map { Double($0) / 1000 }.sorted()
        return PriorityJitter(
            priority: priority.rawValue, realtimePriority: characteristics?.priority, note: note,
            wakeups: microseconds.count, missedEvents: missed, medianMicroseconds: microseconds[microseconds.count / 2],
            p99Microseconds: microseconds[min(microseconds.count - 1, microseconds.count * 99 / 100)],
            maxMicroseconds: microseconds.last!, histogram: Self.histogram(microseconds),
            smallestBufferFrames: trials.last.flatMap { $0.underrunFrames == 0 ? $0.bufferFrames : nil },
            bufferTrials: trials)
    }

    static func histogram(_ microseconds: [Double]) -> [HistogramBin] {
        var bins = (binBounds.map(Optional.some) + [nil]).map { HistogramBin(upToMicroseconds: $0, count: 0) }
        for value in microseconds {
            let index = binBounds.firstIndex { value < Double($0) } ?? binBounds.count
            bins[index].count += 1
        }
        return bins
    }
}

/// A shared event-driven render stream in the mix format, refilled at every
/// event on the calling thread to `queuedFrames` of padding, as a low-latency
/// WASAPI player keeps its buffer: an underrun happens when the thread wakes
/// too late to top it up before the engine needs the frames.
///
/// Underruns are counted from the application's side: the engine's device
/// position (frames it moved) less the frames it took from the buffer
/// (written less padding) grows only by the silence it had to play. The
/// first 20 events are a warm-up; a trial ends at the first underrun.
struct BufferTrialRun {
    let device: MMDevice
    let queuedFrames: Int
    let seconds: Double

    func run() throws -> BufferTrial {
        let client = try device.activateAudioClient()
        let mix = try client.getMixFormat()
        let rate = Int(mix.samplesPerSecond)
        try client.initialize(shareMode: .shared, streamFlags: [.eventCallback],
                              bufferDuration: ReferenceTime((queuedFrames * 10_000_000 + rate - 1) / rate), format: mix)
        let event = try RealtimeEvent()
        try client.setEventHandle(event)
        let render = try client.getRenderClient()
        let clock = try client.getClock()
        let size = try client.getBufferSize()
        let target = min(size, queuedFrames)
        let blockAlign = Int(mix.blockAlign)
        var written = 0
        func fill(_ frames: Int) throws {
            guard frames > 0 else { return }
            let buffer = try render.getBuffer(frames: frames)
            buffer.baseAddress!.initializeMemory(as: UInt8.self, repeating: 0, count: frames * blockAlign)
            try render.releaseBuffer(frames: frames)
            written += frames
        }
        /// Silence the engine inserted so far (plus a constant from the start).
        func deficit() throws -> Int {
            while true {
                let before = try clock.getDevicePosition().position
                let padding = try client.getCurrentPadding()
                if try clock.getDevicePosition().position == before { return Int(before) - (written - padding) }
            }
        }
        try fill(target)
        try client.start()
        defer { _ = try? client.stop() }
        var baseline: Int?
        var events = 0
        let start = trustedMonotonicNanoseconds()
        var elapsed = 0.0
        var underrun = 0
        while elapsed < seconds {
            guard event.wait(timeoutMilliseconds: 2000) == .signaled else {
                throw CommandFailure("no buffer event for 2 s: the JACK server is not running its cycles")
            }
            try fill(target - client.getCurrentPadding())
            events += 1
            elapsed = Double(trustedMonotonicNanoseconds() - start) / 1e9
            if events == 20 { baseline = try deficit() }
            if let baseline, events % 16 == 0 {
                underrun = max(0, try deficit() - baseline)
                if underrun > 0 { break }
            }
        }
        if let baseline { underrun = max(0, try deficit() - baseline) }
        return BufferTrial(bufferFrames: target, streamBufferFrames: size, seconds: elapsed, underrunFrames: underrun)
    }
}

/// Runs `body` on a fresh thread (whose scheduling it may change) and returns its result.
enum OwnThread {
    final class Box<T>: @unchecked Sendable {
        var value: T?
        let done = DispatchSemaphore(value: 0)
    }

    static func run<T>(_ body: @escaping () -> T) -> T {
        let box = Box<T>()
        nonisolated(unsafe) let work = body
        let thread = Thread {
            box.value = work()
            box.done.signal()
        }
        thread.name = "wasapi-jack measurement"
        thread.start()
        box.done.wait()
        return box.value!
    }
}
