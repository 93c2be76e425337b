import AudioGraph
import CProcessCycle
import Foundation
import JackEngine
import Realtime
import Synchronization

/// Times how late an event-driven thread wakes: a JACK client of its own
/// whose process function, every cycle, stamps CLOCK_MONOTONIC and raises an
/// eventfd, as the engine raises a stream's buffer event; the waiting thread
/// reads the clock as soon as it runs. The difference, from the oldest event
/// it had not yet seen, is the wake-up delay a WASAPI program's buffer thread
/// sees (scheduler latency, plus whatever ran on that core first); events
/// that found the thread still asleep from an earlier one are counted as
/// missed (an eventfd wakes its reader once for any number of raises).
///
/// Control path: create, collect and release it on ordinary threads; the
/// process function is `@_noLocks`.
final class WakeupProbe {
    private let client: JackClient
    private let event: RealtimeEvent
    private let state: RealtimeBox<WakeupState>
    private let slot: RealtimeBox<CallbackSlot>
    private let token: InstalledSlot

    init(serverName: String?) throws {
        client = try JackClient(name: "wasapi-jack-wakeup", serverName: serverName)
        let tick = try client.registerPort("tick", direction: .output)
        event = try RealtimeEvent()
        state = RealtimeBox(WakeupState(signal: event.signalHandle, stamps: .allocate(capacity: WakeupState.stampCount)))
        slot = RealtimeBox(CallbackSlot(inputs: [], outputs: [tick], sampleRate: client.sampleRate,
                                        function: wakeupProcessFunction, context: UnsafeMutableRawPointer(state.pointer)))
        token = try client.install(slot)
        try client.activate()
        slot.pointer.pointee.running.store(true, ordering: .releasing)
    }

    deinit {
        client.uninstall(token)
        client.close()
    }

    var periodFrames: Int { client.bufferSize }

    /// Waits for cycles on the calling thread for `seconds`; returns each
    /// wake-up's delay in nanoseconds, and the events missed (nil: no cycle
    /// ran for 2 s).
    func collect(seconds: Double) -> (delays: [UInt64], missed: Int)? {
        var delays: [UInt64] = []
        delays.reserveCapacity(Int(seconds * Double(client.sampleRate) / Double(max(1, client.bufferSize))) + 16)
        var missed = 0
        let shared = state.pointer
        _ = event.reset()
        var seen = shared.pointee.cycles.load(ordering: .acquiring)
        let end = trustedMonotonicNanoseconds() + UInt64(seconds * 1e9)
        while trustedMonotonicNanoseconds() < end {
            guard event.wait(timeoutMilliseconds: 2000) == .signaled else { return nil }
            let now = trustedMonotonicNanoseconds()
            let cycles = shared.pointee.cycles.load(ordering: .acquiring)
            guard cycles > seen else { continue }
            // The oldest event not yet seen, while its stamp is still in the ring.
            if cycles - seen < UInt64(WakeupState.stampCount) {
                let raised = shared.pointee.stamps[Int((seen + 1) % UInt64(WakeupState.stampCount))]
                if now >= raised { delays.append(now - raised) }
            }
            missed += Int(cycles - seen - 1)
            seen = cycles
        }
        return (delays, missed)
    }
}

/// The wake-up probe's real-time state.
struct WakeupState: ~Copyable {
    static let stampCount = 64
    let signal: RealtimeEvent.Signal
    /// CLOCK_MONOTONIC nanoseconds when cycle `n` raised the event, at
    /// `n % stampCount`; written before ``cycles`` is published (release).
    let stamps: UnsafeMutablePointer<UInt64>
    /// Cycles that raised the event so far.
    let cycles = Atomic<UInt64>(0)

    deinit { stamps.deallocate() }
}

/// Stamps the time and raises the event. Real-time: `@_noLocks`.
let wakeupProcessFunction: ProcessFunction = { cycle, context in
    raiseWakeup(cycle, context!.assumingMemoryBound(to: WakeupState.self))
}

@_noLocks
func raiseWakeup(_ cycle: UnsafePointer<wasapi_jack_cycle>, _ state: UnsafeMutablePointer<WakeupState>) {
    let output = cycle.pointee.outputs![0]
    for frame in 0..<Int(cycle.pointee.frames) { output[frame] = 0 }
    let cycle = state.pointee.cycles.load(ordering: .relaxed) + 1
    state.pointee.stamps[Int(cycle % UInt64(WakeupState.stampCount))] = trustedMonotonicNanoseconds()
    state.pointee.cycles.store(cycle, ordering: .releasing)
    state.pointee.signal.raise()
}

/// Threads that burn CPU at ordinary priority, to show what real-time
/// scheduling protects an audio thread from.
final class BusyLoad: @unchecked Sendable {
    private let running = Atomic<Bool>(true)
    private let finished = DispatchSemaphore(value: 0)
    private let count: Int

    init(threads count: Int) {
        self.count = count
        for index in 0..<count {
            let thread = Thread { [self] in
                var value: UInt64 = 1
                while running.load(ordering: .relaxed) {
                    for _ in 0..<10_000 { value = value &* 6_364_136_223_846_793_005 &+ 1 }
                }
                if value == 0 { print("") }  // keeps the loop from being optimised away
                finished.signal()
            }
            thread.name = "wasapi-jack load \(index)"
            thread.start()
        }
    }

    func stop() {
        guard running.exchange(false, ordering: .relaxed) else { return }
        for _ in 0..<count { finished.wait() }
    }

    deinit { stop() }
}
