import Foundation
import Glibc
import Realtime
import Testing

/// Whether `descriptor` is readable right now, by poll(2) with a zero timeout.
private func isReadable(_ descriptor: Int32) -> Bool {
    var entry = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
    return poll(&entry, 1, 0) == 1 && entry.revents & Int16(POLLIN) != 0
}

@Suite("RealtimeEvent", .timeLimit(.minutes(15)))
struct RealtimeEventTests {
    @Test("a signal before the wait is seen by the wait")
    func signalThenWait() throws {
        let event = try RealtimeEvent()
        event.signal()
        #expect(event.wait(timeoutMilliseconds: 5_000) == .signaled)
    }

    @Test("a wait with no signal times out")
    func waitTimesOut() throws {
        let event = try RealtimeEvent()
        #expect(event.wait(timeoutMilliseconds: 10) == .timedOut)
        #expect(event.wait(timeoutMilliseconds: 0) == .timedOut)
    }

    @Test("a descriptor in error fails the wait at once instead of timing out")
    func waitOnBrokenDescriptorFails() throws {
        let event = try RealtimeEvent()
        // Put a pipe's write end whose reader is gone in place of the eventfd
        // (dup2 swaps atomically; the event closes the copy when released):
        // poll reports POLLERR, as an eventfd does when its counter overflows.
        var ends: [Int32] = [0, 0]
        try #require(pipe(&ends) == 0)
        try #require(dup2(ends[1], event.fileDescriptor) == event.fileDescriptor)
        close(ends[0])
        close(ends[1])
        let start = Date()
        #expect(event.wait(timeoutMilliseconds: 2_000) == .failed(errno: EIO))
        #expect(Date().timeIntervalSince(start) < 1, "reported at once, not after the timeout")
    }

    @Test("several signals coalesce into one wake-up (auto-reset)")
    func signalsCoalesce() throws {
        let event = try RealtimeEvent()
        event.signal()
        event.signal()
        #expect(event.signalHandle.raise())
        #expect(event.wait(timeoutMilliseconds: 5_000) == .signaled)
        #expect(event.wait(timeoutMilliseconds: 0) == .timedOut)
    }

    @Test("reset clears a pending signal and says whether there was one")
    func reset() throws {
        let event = try RealtimeEvent()
        #expect(event.reset() == false)
        event.signal()
        #expect(event.reset() == true)
        #expect(event.wait(timeoutMilliseconds: 0) == .timedOut)
        #expect(event.reset() == false)
    }

    @Test("a signal raised on another thread wakes a blocked waiter")
    func signalFromAnotherThread() throws {
        let event = try RealtimeEvent()
        let signal = event.signalHandle
        let waiting = Locked(false)
        let result = Locked<RealtimeEvent.WaitResult?>(nil)
        runOnThreads([
            {
                waiting.set(true)
                result.set(event.wait(timeoutMilliseconds: 30_000))
            },
            {
                while !waiting.value { sched_yield() }
                // Give the waiter a moment to block in poll; the outcome is the same if it has not yet.
                usleep(20_000)
                signal.raise()
            },
        ])
        #expect(result.value == .signaled)
    }

    @Test("the file descriptor is readable under poll(2) exactly while signalled")
    func pollable() throws {
        let event = try RealtimeEvent()
        #expect(event.fileDescriptor >= 0)
        #expect(!isReadable(event.fileDescriptor))
        event.signalHandle.raise()
        #expect(isReadable(event.fileDescriptor))
        #expect(event.wait(timeoutMilliseconds: 0) == .signaled)
        #expect(!isReadable(event.fileDescriptor))
    }

    @Test("a handle built from the descriptor raises the same event")
    func handleFromDescriptor() throws {
        let event = try RealtimeEvent()
        let handle = RealtimeEvent.Signal(fileDescriptor: event.fileDescriptor)
        #expect(handle.raise())
        #expect(event.wait(timeoutMilliseconds: 5_000) == .signaled)
    }
}
