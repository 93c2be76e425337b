import AudioGraph
import CJack
import Glibc
import Realtime
import Synchronization

/// Everything JACK's callbacks touch, allocated before `jack_activate` and
/// freed after `jack_client_close`, reached through the callbacks' `void *`
/// argument: no Swift reference is retained or released on JACK's threads.
///
/// - The process callback walks two ``SlotTable``s: in-callback slots
///   (``CallbackSlot``, run first) and stream slots (``StreamSlot``). A
///   control thread publishes a slot by storing its pointer (release); it
///   withdraws one by storing nil and then waiting until every cycle that may
///   have loaded the old pointer has finished (``requestedEpoch`` /
///   ``acknowledgedEpoch``), before the slot's memory is freed. A full table
///   is replaced by one twice as large the same way: the new table's pointer
///   is published, and the old one freed after that wait. No limit but
///   JACK's own on ports.
/// - Each cycle publishes the cycle clock (``clock``) for `IAudioClock`.
/// - The shutdown and xrun callbacks only record what happened in atomics.
///
/// Thread safety: see each member. The struct lives in a ``RealtimeBox`` owned
/// by ``JackClient``.
struct ProcessGraph: ~Copyable, @unchecked Sendable {
    /// Stream slots before the table first grows.
    static let initialStreamCapacity = 64
    /// In-callback slots before the table first grows.
    static let initialCallbackCapacity = 8

    /// The JACK client; set once before activation.
    let client: Atomic<OpaquePointer?> = Atomic(nil)
    /// ``StreamSlot`` pointers.
    let streams = SlotTable(initialCapacity: ProcessGraph.initialStreamCapacity)
    /// ``CallbackSlot`` pointers.
    let callbacks = SlotTable(initialCapacity: ProcessGraph.initialCallbackCapacity)
    /// Raised by a control thread after a change the process thread must
    /// see (a withdrawn slot, a stopped stream); read at the start of a cycle.
    let requestedEpoch = Atomic<UInt64>(0)
    /// The ``requestedEpoch`` the last finished cycle read at its start.
    /// Only the process thread writes it.
    let acknowledgedEpoch = Atomic<UInt64>(0)
    /// The last cycle's clock: see ``CycleClock``.
    let clock = SeqlockCell(wordCount: CycleClock.wordCount)
    /// xruns JACK reported to this client.
    let xrunCount = Atomic<UInt64>(0)
    /// Set by the shutdown callback; the server is gone or dropped the client.
    /// From then on a cycle touches no slot (see ``runCycle(frames:)``).
    let isShutDown = Atomic<Bool>(false)
    /// CLOCK_MONOTONIC nanoseconds when the shutdown callback ran (0: never).
    let shutdownNanoseconds = Atomic<UInt64>(0)
    /// The `jack_status_t` JACK gave with the shutdown.
    let shutdownStatus = Atomic<UInt32>(0)
    /// The eventfd the shutdown callback raises to wake the control thread.
    let shutdownNotifyDescriptor = Atomic<Int32>(-1)

    // MARK: Control side

    /// Publishes a slot of `kind` (a ``StreamSlot`` or ``CallbackSlot``
    /// pointer) and returns its index, and the table it outgrew, if it grew:
    /// free that with ``SlotTable/free(_:)`` once ``waitForCyclesInFlight(timeoutMilliseconds:isRunning:)``
    /// returned true.
    func publish(_ slot: UnsafeMutableRawPointer,
                 kind: InstalledSlot.Kind) -> (index: Int, retired: UnsafeMutablePointer<SlotTable.Entries>?) {
        switch kind {
        case .stream: streams.publish(slot)
        case .callback: callbacks.publish(slot)
        }
    }

    /// Withdraws an installed slot; the cycle running now may still use it.
    func withdraw(_ token: InstalledSlot) {
        switch token.kind {
        case .stream: streams.withdraw(at: token.index)
        case .callback: callbacks.withdraw(at: token.index)
        }
    }

    /// Frees a withdrawn slot's index for reuse, once no cycle can touch it.
    func release(_ token: InstalledSlot) {
        switch token.kind {
        case .stream: streams.release(at: token.index)
        case .callback: callbacks.release(at: token.index)
        }
    }

    /// Returns once every cycle that began before this call has finished, so
    /// that whatever the caller changed before it (a withdrawn slot, a
    /// cleared `running` flag) is seen by every cycle from now on; at once
    /// when `isRunning()` says no cycle can run (client inactive or shut down).
    /// Returns false if no cycle finished within `timeoutMilliseconds`.
    /// Control path; sleeps, typically for up to one period.
    ///
    /// The handshake costs the process thread no locked instruction: the
    /// caller raises ``requestedEpoch`` (release, after its change); a cycle
    /// reads it first thing (acquire), so it sees the change, and stores it
    /// in ``acknowledgedEpoch`` when done. Cycles run one after another on
    /// one thread, so once a cycle that began after the raise has finished,
    /// every cycle that could have missed the change has finished too.
    func waitForCyclesInFlight(timeoutMilliseconds: Int, isRunning: () -> Bool) -> Bool {
        let target = requestedEpoch.wrappingAdd(1, ordering: .acquiringAndReleasing).newValue
        let deadline = MonotonicDeadline(millisecondsFromNow: timeoutMilliseconds)
        while acknowledgedEpoch.load(ordering: .acquiring) < target {
            if !isRunning() {
                waitOutCycleAtShutdown()
                return true
            }
            if deadline.hasPassed { return false }
            usleep(100)
        }
        return true
    }

    /// How long a cycle that began before the shutdown callback may still be
    /// running: JACK's process thread is real-time and the cycle does bounded
    /// work, so it ends within a period (at most 2048 frames at 22 kHz, under
    /// 100 ms); this bound has a margin over that.
    static let cycleGraceNanoseconds: UInt64 = 200_000_000

    /// After a shutdown, returns once a cycle that began before it can no
    /// longer be running. libjack's process thread outlives a dead server
    /// (it waits on the server's futex for good), so no acknowledgement will
    /// come: the wait is the grace period since the shutdown callback, which
    /// has long passed by the time most callers get here. Cycles that begin
    /// after the shutdown touch no slot (``runCycle(frames:)``).
    func waitOutCycleAtShutdown() {
        let since = shutdownNanoseconds.load(ordering: .acquiring)
        guard since != 0 else { return }
        let end = since + Self.cycleGraceNanoseconds
        var now = trustedMonotonicNanoseconds()
        while now < end {
            usleep(UInt32(min((end - now) / 1000, 10_000)))
            now = trustedMonotonicNanoseconds()
        }
    }

    // MARK: Process thread

    /// One JACK cycle: run the in-callback slots, then (once a stream slot
    /// was ever installed) publish the cycle clock, run the stream slots and
    /// raise the events they are due.
    ///
    /// A client with in-callback streams only pays for nothing else: no
    /// clock, no stream-table walk, and no locked instruction (see
    /// MonitorBenchmarks). The epoch is read first, so that every load after
    /// it sees what the control thread changed before raising it.
    ///
    /// Once the server shut the client down, a cycle does nothing. libjack's
    /// process thread outlives a killed jackd2, blocked on a futex in a
    /// shared-memory file named after the server and the client; a server
    /// restarted under the same name reuses that file, and when a client of
    /// the same name joins it, the orphaned thread wakes and calls this
    /// callback again, long after the slots it knew were freed.
    @_noLocks @inline(__always)
    func runCycle(frames: UInt32) {
        guard !isShutDown.load(ordering: .acquiring) else { return }
        let epoch = requestedEpoch.load(ordering: .acquiring)
        let streamTable = streams.current()
        let streamEnd = streamTable.pointee.end()
        // The walk is written twice on purpose: where nothing follows it, the
        // compiler keeps its state in registers (measured in MonitorBenchmarks).
        if streamEnd == 0 {
            runCallbackSlots(frames: frames)
        } else {
            runCallbackSlots(frames: frames)
            runStreams(streamTable, upTo: streamEnd, frames: frames)
        }
        acknowledgedEpoch.store(epoch, ordering: .releasing)
    }

    /// The in-callback slots' part of a cycle.
    @_noLocks @inline(__always)
    private func runCallbackSlots(frames: UInt32) {
        let table = callbacks.current()
        for index in 0..<table.pointee.end() {
            if let slot = table.pointee.entry(at: index) {
                slot.assumingMemoryBound(to: CallbackSlot.self).pointee.process(frames: frames)
            }
        }
    }

    /// The stream slots' part of a cycle. The cycle's time (QPC of capture
    /// packets, IAudioClock's interpolation) is read from CLOCK_MONOTONIC, not
    /// taken from jack_get_cycle_times: JACK's cycle times are a filtered
    /// estimate that can step backwards after an xrun.
    @_noLocks
    private func runStreams(_ table: UnsafeMutablePointer<SlotTable.Entries>, upTo end: Int, frames: UInt32) {
        if let handle = client.load(ordering: .acquiring) {
            let times = trustedCycleTimes(handle)
            if times.valid {
                CycleClock.publish(frameTime: times.frames, microseconds: times.microseconds,
                                   nextMicroseconds: times.nextMicroseconds,
                                   periodMicroseconds: times.periodMicroseconds, frames: frames, into: clock)
            }
        }
        let now = trustedMonotonicNanoseconds()
        for index in 0..<end {
            if let entry = table.pointee.entry(at: index) {
                let slot = entry.assumingMemoryBound(to: StreamSlot.self)
                for channel in 0..<slot.pointee.portCount {
                    slot.pointee.bindPlane(channel, to: trustedPortBuffer(OpaquePointer(slot.pointee.portHandle(channel)), frames))
                }
                slot.pointee.process(frames: frames, nanoseconds: now)
            }
        }
        // Events last, so that no application thread runs against a cycle
        // that is still half done.
        for index in 0..<end {
            if let slot = table.pointee.entry(at: index) {
                slot.assumingMemoryBound(to: StreamSlot.self).pointee.raiseDueEvent()
            }
        }
    }
}

// The C callbacks JACK calls: free functions (never closures, which would
// carry isolation checks onto JACK's threads), each reaching the graph through
// its `void *` argument.

/// JACK's process callback. Real-time thread; `@_noLocks`.
@_noLocks @inline(__always)
func graphProcessCallback(frames: UInt32, argument: UnsafeMutableRawPointer?) -> Int32 {
    argument!.assumingMemoryBound(to: ProcessGraph.self).pointee.runCycle(frames: frames)
    return 0
}

/// `jack_on_info_shutdown`: behaves like a signal handler, so it only records
/// the fact in atomics; a control thread notices and cleans up.
func graphShutdownCallback(status: jack_status_t, reason: UnsafePointer<CChar>?,
                           argument: UnsafeMutableRawPointer?) {
    markShutDown(argument!.assumingMemoryBound(to: ProcessGraph.self), status: status.rawValue)
}

/// Records that the server dropped the client (`status`: JACK's) and wakes
/// the control thread: from JACK's shutdown callback, or when the process
/// closes its clients after another one was dropped (``ServerRegistry``).
func markShutDown(_ graph: UnsafeMutablePointer<ProcessGraph>, status: UInt32) {
    graph.pointee.shutdownStatus.store(status, ordering: .relaxed)
    graph.pointee.shutdownNanoseconds.store(trustedMonotonicNanoseconds(), ordering: .releasing)
    graph.pointee.isShutDown.store(true, ordering: .releasing)
    let descriptor = graph.pointee.shutdownNotifyDescriptor.load(ordering: .acquiring)
    if descriptor >= 0 { RealtimeEvent.Signal(fileDescriptor: descriptor).raise() }
}

/// Marks a client the process gives up on (left open, or its close left
/// running) as shut down, unless the server already dropped it: its cycles
/// then do nothing, and its owner sees the server gone. Control thread.
func markShutDownUnlessDropped(_ graph: UnsafeMutablePointer<ProcessGraph>) {
    guard !graph.pointee.isShutDown.load(ordering: .acquiring) else { return }
    markShutDown(graph, status: JackStatus.failure.rawValue)
}

/// `jack_set_xrun_callback`: counts. Notification thread.
func graphXrunCallback(argument: UnsafeMutableRawPointer?) -> Int32 {
    argument!.assumingMemoryBound(to: ProcessGraph.self).pointee.xrunCount.add(1, ordering: .relaxed)
    return 0
}
