import AudioGraph
import Glibc
import Synchronization

/// What the simulated engine records of application threads' scheduling:
/// nothing is changed on the real threads, so tests stay deterministic and
/// never run at real-time priority.
struct SimulatedScheduling {
    let enginePriority: Int?
    let permitted: Bool
    var threads: [pthread_t: Int] = [:]
}

extension SimulatedAudioEngine {
    public func acquireRealtimeScheduling(thread: pthread_t,
                                          belowEngineBy steps: Int) throws(RealtimeSchedulingError) -> Int {
        let result: Result<Int, RealtimeSchedulingError> = scheduling.withLock { state in
            guard let engine = state.enginePriority else { return .failure(.engineNotRealtime) }
            guard state.permitted else { return .failure(.notPermitted) }
            let priority = max(1, engine - max(1, steps))
            state.threads[thread] = priority
            return .success(priority)
        }
        return try result.get()
    }

    public func dropRealtimeScheduling(thread: pthread_t) throws(RealtimeSchedulingError) {
        _ = scheduling.withLock { $0.threads.removeValue(forKey: thread) }
    }

    /// The real-time priority `thread` was given through this engine, or nil
    /// when it runs (as far as the engine knows) at ordinary priority.
    public func realtimePriority(of thread: pthread_t) -> Int? {
        scheduling.withLock { $0.threads[thread] }
    }
}
