import Foundation
import JackTestSupport
import Realtime
import Synchronization
import Testing
import WASAPI

/// A real jackd killed (SIGKILL, as a crash) under a playing stream, then
/// started again under the same name. Runs in a child process: libjack's
/// process-wide state after a dead server is not something the test
/// process should keep.
@Suite("Server killed and restarted (jackd)", .timeLimit(.minutes(15)))
struct ServerShutdownTests {
    /// jackd keeps a killed server's registry entry until a server of the
    /// same name starts: the restart below reclaims it.
    static let serverName = "wasapi-crash-api"

    @Test("the buffer thread's event wait returns within 100 ms of the kill, the next call is DEVICE_INVALIDATED naming the server, and a new enumerator works once it is back")
    func killAndRestart() async throws {
        try await withJackLibrary {
            await #expect(processExitsWith: .success, "the child records each wrong answer as an issue") {
                exitChild(try await killAndRestartScenario())
            }
        }
    }
}

extension ServerShutdownTests {
    /// Its own fixed name (started again below, so no registry entry is left).
    static let reopenServerName = "wasapi-crash-reopen"

    @Test("an existing enumerator sees the endpoints return when the server comes back under the same name, and streams on it run on the new server while the old stream stays invalidated")
    func existingEnumeratorFollowsRestart() async throws {
        try await withJackLibrary {
            await #expect(processExitsWith: .success, "the child records each wrong answer as an issue") {
                exitChild(try await existingEnumeratorScenario())
            }
        }
    }
}

private func existingEnumeratorScenario() async throws -> [String] {
    var failures: [String] = []
    let name = ServerShutdownTests.reopenServerName
    let server = try JackServerProcess.start(.init(name: name))
    let enumerator = try MMDeviceEnumerator(serverName: name)
    let notifications = RecordingNotificationClient()
    enumerator.registerEndpointNotificationCallback(notifications)
    let renderID = try enumerator.getDefaultAudioEndpoint(.render, role: .console).id
    let (old, _, oldEvent) = try startEventDrivenRender(on: try enumerator.getDefaultAudioEndpoint(.render, role: .console))
    if oldEvent.wait(timeoutMilliseconds: 2_000) != .signaled { failures.append("the first stream did not run") }

    server.crash()
    let gone = await notifications.wait(seconds: 5) { $0.contains(.state(renderID, .notPresent)) }
    if !gone { failures.append("no NOTPRESENT for \(renderID) after the kill: \(notifications.recorded)") }

    let again = try JackServerProcess.start(.init(name: name))
    defer { again.stop() }
    let back = await notifications.wait(seconds: 5) { calls in
        calls.lastIndex(of: .state(renderID, .active)).map { active in
            calls.lastIndex(of: .state(renderID, .notPresent)).map { $0 < active } ?? true
        } ?? false
    }
    if !back { failures.append("no ACTIVE for \(renderID) within 5 s of the restart: \(notifications.recorded)") }
    do {
        let device = try enumerator.getDefaultAudioEndpoint(.render, role: .console)
        if device.id != renderID { failures.append("the default render endpoint is \(device.id), not \(renderID)") }
        if device.state != .active { failures.append("the endpoint is \(device.state) after the restart") }
        let (next, _, nextEvent) = try startEventDrivenRender(on: device)
        if nextEvent.wait(timeoutMilliseconds: 2_000) != .signaled { failures.append("a stream on the same enumerator did not run after the restart") }
        _ = try next.stop()
    } catch {
        failures.append("after the restart, on the same enumerator: \(error)")
    }
    do {
        _ = try old.getCurrentPadding()
        failures.append("the stream from before the kill works again")
    } catch {
        if error.code != .AUDCLNT_E_DEVICE_INVALIDATED { failures.append("the old stream: \(error)") }
    }
    return failures
}

private func killAndRestartScenario() async throws -> [String] {
    var failures: [String] = []
    let name = ServerShutdownTests.serverName
    let server = try JackServerProcess.start(.init(name: name))
    let enumerator = try MMDeviceEnumerator(serverName: name)
    let (client, render, event) = try startEventDrivenRender(on: try enumerator.getDefaultAudioEndpoint(.render, role: .console))
    if event.wait(timeoutMilliseconds: 2_000) != .signaled { failures.append("the stream did not run") }

    let woke = Mutex<(RealtimeEvent.WaitResult, ContinuousClock.Instant)?>(nil)
    let waiting = Atomic<Bool>(false)
    let waiter = Thread {
        // The buffer thread of an event-driven player: keep the buffer full until the event stops coming.
        while true {
            waiting.store(true, ordering: .releasing)
            let result = event.wait(timeoutMilliseconds: 30_000)
            if result != .signaled || (try? client.getCurrentPadding()) == nil {
                woke.withLock { $0 = (result, ContinuousClock.now) }
                return
            }
            if let free = try? client.getBufferSize() - client.getCurrentPadding(), free > 0,
               (try? render.getBuffer(frames: free)) != nil {
                try? render.releaseBuffer(frames: free, flags: .silent)
            }
        }
    }
    waiter.start()
    try await waitUntil(seconds: 2) { waiting.load(ordering: .acquiring) }
    try await pause(for: .milliseconds(100))
    let killedAt = ContinuousClock.now
    server.crash()
    try await waitUntil(seconds: 31) { woke.withLock { $0 != nil } }
    if let (result, at) = woke.withLock({ $0 }) {
        if result != .signaled { failures.append("the event wait ended with \(result), not signalled") }
        if at - killedAt > .milliseconds(100) { failures.append("the waiter woke \(at - killedAt) after the kill") }
    } else {
        failures.append("the waiter never woke")
    }
    do {
        _ = try client.getCurrentPadding()
        failures.append("GetCurrentPadding succeeded after the kill")
    } catch {
        if error.code != .AUDCLNT_E_DEVICE_INVALIDATED { failures.append("GetCurrentPadding: \(error)") }
        if !error.message.contains(name) { failures.append("the message does not name the server: \(error.message)") }
    }

    // The server comes back under the same name: a new enumerator and stream work.
    let again = try JackServerProcess.start(.init(name: name))
    defer { again.stop() }
    do {
        let fresh = try MMDeviceEnumerator(serverName: name)
        let next = try fresh.getDefaultAudioEndpoint(.render, role: .console).activateAudioClient()
        try next.initialize(shareMode: .shared, streamFlags: [.eventCallback], bufferDuration: 0, format: try next.getMixFormat())
        let nextEvent = try RealtimeEvent()
        try next.setEventHandle(nextEvent)
        try next.start()
        if nextEvent.wait(timeoutMilliseconds: 2_000) != .signaled { failures.append("a stream on the restarted server did not run") }
        _ = try next.stop()
    } catch {
        failures.append("after the restart: \(error)")
    }
    return failures
}
