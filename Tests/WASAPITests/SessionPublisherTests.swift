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
}
