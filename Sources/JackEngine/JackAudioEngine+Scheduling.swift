import AudioGraph
import CJack
import Glibc

extension JackAudioEngine {
    public func acquireRealtimeScheduling(thread: pthread_t,
                                          belowEngineBy steps: Int) throws(RealtimeSchedulingError) -> Int {
        guard let engine = client.realtimePriority else { throw .engineNotRealtime }
        let priority = max(1, engine - max(1, steps))
        let code = jack_acquire_real_time_scheduling(thread, Int32(priority))
        switch code {
        case 0: return priority
        case EPERM: throw .notPermitted
        default: throw .failed(code: code)
        }
    }

    public func dropRealtimeScheduling(thread: pthread_t) throws(RealtimeSchedulingError) {
        let code = jack_drop_real_time_scheduling(thread)
        guard code == 0 else { throw code == EPERM ? .notPermitted : .failed(code: code) }
    }
}

extension JackClient {
    /// The real-time priority of the client's process thread
    /// (`jack_client_real_time_priority`), or nil when the server does not
    /// run real-time or the client is closed.
    public var realtimePriority: Int? {
        let priority: Int32? = withHandle { jack_client_real_time_priority($0) }
        guard let priority, priority > 0 else { return nil }
        return Int(priority)
    }
}
