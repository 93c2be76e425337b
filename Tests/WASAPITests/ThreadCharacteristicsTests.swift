import Foundation
import Glibc
import JackTestSupport
import PCM
import SimulatedEngine
import Testing
import WASAPI

/// AvSetMmThreadCharacteristics("Pro Audio") and its revert.
@Suite("Thread characteristics (MMCSS tasks)", .timeLimit(.minutes(15)))
struct ThreadCharacteristicsTests {
    @Test("simulated: Pro Audio sits one below the engine's threads, Audio two; revert drops it; a second revert is E_HANDLE")
    func simulatedPriorities() throws {
        var configuration = SimulatedAudioEngine.Configuration()
        configuration.realtimePriority = 20
        let sim = SimulatedAudioEngine(configuration)
        let enumerator = MMDeviceEnumerator(engine: sim)
        let proAudio = try enumerator.setThreadCharacteristics("Pro Audio")
        #expect(proAudio.priority == 19)
        #expect(sim.realtimePriority(of: pthread_self()) == 19)
        try proAudio.revert()
        #expect(sim.realtimePriority(of: pthread_self()) == nil)
        #expect(throws: AudioError.self) { try proAudio.revert() }
        do { try proAudio.revert() } catch { #expect(error.code == .E_HANDLE) }

        let audio = try enumerator.setThreadCharacteristics("Audio")
        #expect(audio.priority == 18)
        try audio.revert()
    }

    @Test("simulated: an unknown task, an engine without real time and a refusal each throw their own code, and leave the thread as it was")
    func simulatedFailures() throws {
        func code(_ body: () throws -> Void) -> HRESULT? {
            do { try body() } catch { return (error as? AudioError)?.code ?? .S_FALSE }
            return nil
        }
        let sim = SimulatedAudioEngine()
        let enumerator = MMDeviceEnumerator(engine: sim)
        #expect(code { _ = try enumerator.setThreadCharacteristics("Games") } == .ERROR_INVALID_TASK_NAME)

        var notRealtime = SimulatedAudioEngine.Configuration()
        notRealtime.realtimePriority = nil
        let quiet = SimulatedAudioEngine(notRealtime)
        #expect(code { _ = try MMDeviceEnumerator(engine: quiet).setThreadCharacteristics() } == .ERROR_NOT_SUPPORTED)

        var refusing = SimulatedAudioEngine.Configuration()
        refusing.permitsRealtime = false
        let strict = SimulatedAudioEngine(refusing)
        #expect(code { _ = try MMDeviceEnumerator(engine: strict).setThreadCharacteristics() } == .ERROR_PRIVILEGE_NOT_HELD)
        #expect(strict.realtimePriority(of: pthread_self()) == nil)
    }

    @Test("jackd -R: the thread runs SCHED_FIFO one below JACK's own client thread in this process, and SCHED_OTHER after revert")
    func jackPriorities() async throws {
        try await withJackServer { server in
            try #require(server.isRealtime, "the fixture's server runs without -R here: nothing to sit under")
            let enumerator = try MMDeviceEnumerator(serverName: server.name)
            let outcome = OnOwnThread.run { () -> (raised: ThreadPolicy?, others: [ThreadPolicy], after: ThreadPolicy?, error: String?) in
                let characteristics: ThreadCharacteristics
                do { characteristics = try enumerator.setThreadCharacteristics() } catch {
                    return (nil, [], nil, "\(error)")
                }
                let tid = ThreadPolicy.currentTID()
                let raised = ThreadPolicy.read(tid: tid)
                let others = ThreadPolicy.realtimeThreads(excluding: tid)
                do { try characteristics.revert() } catch { return (raised, others, nil, "revert: \(error)") }
                return (raised, others, ThreadPolicy.read(tid: tid), nil)
            }
            #expect(outcome.error == nil, "\(outcome.error ?? "")")
            let raised = try #require(outcome.raised)
            let jack = try #require(outcome.others.map(\.priority).max(), "no real-time JACK thread in this process")
            #expect(raised.policy == SCHED_FIFO)
            #expect(raised.priority == jack - 1, "ours \(raised.priority), JACK's \(jack)")
            #expect(outcome.after?.policy == SCHED_OTHER)
            #expect(outcome.after?.priority == 0)
        }
    }
}

/// A thread's policy and real-time priority as the kernel reports them in
/// `/proc/self/task/TID/stat` (fields 40 and 41), independent of our code.
struct ThreadPolicy: Equatable {
    var priority: Int32
    var policy: Int32

    static func read(tid: pid_t) -> ThreadPolicy? {
        guard let text = try? String(contentsOfFile: "/proc/self/task/\(tid)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return nil }
        // Fields after the command name start at field 3.
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 38, let priority = Int32(fields[37]), let policy = Int32(fields[38]) else { return nil }
        return ThreadPolicy(priority: priority, policy: policy)
    }

    /// The calling thread's id, from `/proc/thread-self` (`PID/task/TID`).
    static func currentTID() -> pid_t {
        let target = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/thread-self")) ?? ""
        return pid_t(target.split(separator: "/").last ?? "") ?? -1
    }

    static func realtimeThreads(excluding tid: pid_t) -> [ThreadPolicy] {
        let tids = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        return tids.compactMap { pid_t($0) }.filter { $0 != tid }.compactMap { read(tid: $0) }
            .filter { $0.policy == SCHED_FIFO || $0.policy == SCHED_RR }
    }
}

/// Runs `body` on a fresh thread (so no pool thread is left real-time) and
/// returns its result.
enum OnOwnThread {
    final class Box<T>: @unchecked Sendable {
        var value: T?
        let done = DispatchSemaphore(value: 0)
    }

    static func run<T>(_ body: @escaping @Sendable () -> T) -> T {
        let box = Box<T>()
        let thread = Thread {
            box.value = body()
            box.done.signal()
        }
        thread.start()
        box.done.wait()
        return box.value!
    }
}
