import AudioGraph
import Glibc
import PCM
import Synchronization

/// A thread registered with a multimedia task: Windows'
/// `AvSetMmThreadCharacteristics(L"Pro Audio", &taskIndex)` and the handle
/// it returns, which `AvRevertMmThreadCharacteristics` gives back.
///
/// A WASAPI program calls it at the top of the thread that waits for the
/// buffer event, so that the thread wakes on time however busy the machine
/// is. Here the calling thread gets real-time (`SCHED_FIFO`) scheduling just
/// under the engine's own threads, through the engine's helper (JACK:
/// `jack_acquire_real_time_scheduling` at one below
/// `jack_client_real_time_priority`): it preempts ordinary work, never the
/// cycle that runs the streams. ``revert()`` gives the thread back its
/// previous scheduling; so does the last reference going away on the
/// registered thread itself (released on another thread, it leaves the
/// thread as it is: that thread may have ended).
///
/// | task | priority |
/// | --- | --- |
/// | `"Pro Audio"` | one below the engine's client threads |
/// | `"Audio"`, `"Capture"`, `"Playback"` | two below |
///
/// Other task names (`"Games"`, `"Window Manager"`, ...) are not offered:
/// they throw `ERROR_INVALID_TASK_NAME`.
///
/// Thread safety: create it on the thread to raise; ``revert()`` may be
/// called once (a second call throws `E_HANDLE`) from any thread while the
/// registered thread runs.
public final class ThreadCharacteristics: Sendable {
    /// MMCSS's task for professional audio: the highest an application gets.
    public static let proAudio = "Pro Audio"

    /// The task the thread was registered with.
    public let taskName: String
    /// The real-time priority the thread runs at.
    public let priority: Int
    /// The registered thread.
    public let thread: pthread_t
    private let engine: any AudioEngine
    private let previous: ThreadScheduling
    private let reverted = Atomic<Bool>(false)

    /// Registers the calling thread with `taskName`
    /// (`AvSetMmThreadCharacteristics`) on `enumerator`'s engine.
    /// - Throws: `ERROR_INVALID_TASK_NAME` for a task it does not offer,
    ///   `ERROR_NOT_SUPPORTED` when the engine does not run real-time
    ///   (jackd without `-R`), `ERROR_PRIVILEGE_NOT_HELD` when the system
    ///   refuses real-time scheduling (no `rtprio` limit): the thread then
    ///   runs on as before, and the caller goes on at ordinary priority.
    public convenience init(taskName: String = ThreadCharacteristics.proAudio,
                            enumerator: MMDeviceEnumerator) throws(AudioError) {
        try self.init(taskName: taskName, engine: enumerator.engine)
    }

    init(taskName: String, engine: any AudioEngine) throws(AudioError) {
        let steps: Int
        switch taskName {
        case Self.proAudio: steps = 1
        case "Audio", "Capture", "Playback": steps = 2
        default:
            throw AudioError(.ERROR_INVALID_TASK_NAME, "'\(taskName)' is not a task this library offers; "
                             + "use \"\(Self.proAudio)\", \"Audio\", \"Capture\" or \"Playback\"")
        }
        let thread = pthread_self()
        previous = ThreadScheduling.of(thread)
        do {
            priority = try engine.acquireRealtimeScheduling(thread: thread, belowEngineBy: steps)
        } catch {
            switch error {
            case .engineNotRealtime: throw AudioError(.ERROR_NOT_SUPPORTED, error.description)
            case .notPermitted: throw AudioError(.ERROR_PRIVILEGE_NOT_HELD, error.description)
            case .failed: throw AudioError(.E_FAIL, error.description)
            }
        }
        (self.taskName, self.thread, self.engine) = (taskName, thread, engine)
    }

    deinit {
        if pthread_equal(pthread_self(), thread) != 0 { try? revert() }
    }

    /// Gives the thread back the scheduling it had before
    /// (`AvRevertMmThreadCharacteristics`).
    /// - Throws: `E_HANDLE` when already reverted; `E_FAIL` when the system
    ///   refused (the thread keeps its real-time priority).
    public func revert() throws(AudioError) {
        guard !reverted.exchange(true, ordering: .acquiringAndReleasing) else {
            throw AudioError(.E_HANDLE, "the thread characteristics were already reverted")
        }
        do {
            try engine.dropRealtimeScheduling(thread: thread)
        } catch {
            throw AudioError(.E_FAIL, error.description)
        }
        if previous.isRealtime {
            var parameters = sched_param(sched_priority: previous.priority)
            _ = pthread_setschedparam(thread, previous.policy, &parameters)
        }
    }
}

extension MMDeviceEnumerator {
    /// `AvSetMmThreadCharacteristics(taskName)` for the calling thread on
    /// this enumerator's engine (see ``ThreadCharacteristics``).
    public func setThreadCharacteristics(_ taskName: String = ThreadCharacteristics.proAudio)
        throws(AudioError) -> ThreadCharacteristics {
        try ThreadCharacteristics(taskName: taskName, enumerator: self)
    }
}
