/// Polls `condition` every 5 ms until it holds or `seconds` pass (a bounded
/// wait: the caller checks the condition again to tell the two apart).
public func waitUntil(seconds: Double = 5, _ condition: () -> Bool) async throws {
    let deadline = ContinuousClock.now + .seconds(seconds)
    while !condition() && ContinuousClock.now < deadline {
        try await pause(for: .milliseconds(5))
    }
}
