import Foundation
@testable import AudioGraph
import SimulatedEngine
import Synchronization
import Testing
@testable import WASAPI

/// Session records are written after the hub's lock is released
/// (``SessionPublisher``): a metadata write may wait up to 0.5 s for jackd2's
/// database, and other calls that need the hub must not wait behind it (issue
/// 14's chaos test: three threads releasing audio clients took 2.66 s each).
@Suite("Session records are written off the hub's lock (simulated engine)", .timeLimit(.minutes(15)))
struct SessionPublisherTests {
    @Test("while a record write waits 800 ms, releasing another stream of the hub does not wait for it; the newest record is published")
    func releaseDoesNotWaitForARecordWrite() throws {
        try withSimulatedEngine { sim, enumerator in
            let device = try enumerator.getDefaultAudioEndpoint(.render, role: .console)
            let first = try initializedClient(device)
            var second: AudioClient? = try initializedClient(device)
            let volume = try first.getSimpleAudioVolume()
            let hub = try first.getSessionControl().hub
            hub.publisher.waitUntilWritten(waitingAtMost: 5_000_000_000)
            sim.delayProperties(milliseconds: 800)
            defer { sim.delayProperties(milliseconds: 0) }

            let setting = DispatchSemaphore(value: 0)
            Thread {
                for level: Float in [0.5, 0.4, 0.3] { try? volume.setMasterVolume(level) }
                setting.signal()
            }.start()
            usleep(50_000)  // the first write is under way
            let start = ContinuousClock.now
            second = nil
            let released = ContinuousClock.now - start
            setting.wait()
            #expect(second == nil)
            #expect(released < .milliseconds(300), "the release waited \(released) behind a record write")

            #expect(hub.publisher.waitUntilWritten(waitingAtMost: 10_000_000_000))
            let records = sim.properties(withKeyPrefix: SessionMetadata.sessionPrefix)
                .compactMap { SessionMetadata.decode(SessionRecord.self, from: $0.value, key: $0.key) }
            #expect(records.contains { $0.volume == 0.3 }, "the newest volume was not published: \(records.map(\.volume))")
            #expect(try volume.getMasterVolume() == 0.3)
        }
    }

    @Test("an own record read back while newer ones are still being written raises no event: a start and a stop are one active and one inactive, in order")
    func staleReadBackRaisesNothing() throws {
        try withSimulatedEngine { sim, enumerator in
            let device = try enumerator.getDefaultAudioEndpoint(.render, role: .console)
            let client = try initializedClient(device)
            let control = try client.getSessionControl()
            let events = RecordingSessionEvents()
            try control.registerAudioSessionNotification(events)
            control.hub.publisher.waitUntilWritten(waitingAtMost: 5_000_000_000)
            #expect(enumerator.synchronize())
            sim.delayProperties(milliseconds: 3_000)
            defer { sim.delayProperties(milliseconds: 0) }

            // Start's record is being written (3 s), stop's waits for its turn.
            try client.start()
            try client.stop()
            // Another client removes every property (JACK says: all changed):
            // every record is read again, and this process's own are taken
            // from the records published since the last echo.
            let everything = GraphChange.property(subject: 0, key: nil, change: .deleted)
            sim.changes.append(everything)
            #expect(enumerator.synchronize())
            #expect(events.recorded == [.state(.active), .state(.inactive)])
            // Read again: the server holds start's record at most, older than stop's.
            sim.changes.append(everything)
            #expect(enumerator.synchronize())
            try #require(control.hub.publisher.waitUntilWritten(waitingAtMost: 0) == false,
                         "the writes ended before the reads: nothing was read back stale")
            #expect(events.recorded == [.state(.active), .state(.inactive)])

            sim.delayProperties(milliseconds: 0)
            #expect(control.hub.publisher.waitUntilWritten(waitingAtMost: 10_000_000_000))
            #expect(enumerator.synchronize())
            #expect(events.recorded == [.state(.active), .state(.inactive)])
        }
    }
}
