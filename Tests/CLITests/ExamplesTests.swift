import Foundation
import JackTestSupport
import Testing

/// The programs in examples/ run to completion on a fixture server and say
/// what they did.
@Suite("Examples on a JACK server", .serialized, .timeLimit(.minutes(15)))
struct ExamplesTests {
    @Test("each example runs for a second and reports its work", arguments: [
        ("SharedEventRender", "played "),
        ("SharedTimerCapture", "captured "),
        ("ExclusiveEventRender", "in exclusive mode"),
        ("LoopbackCapture", "loopback recorded "),
        ("LowLatencyMonitor", "latency added: none"),
    ])
    func runs(example: String, expected: String) async throws {
        try await withJackServer { server in
            let result = try runBuiltProduct([server.name, "1"], product: example)
            #expect(result.status == 0, "\(example): \(result.standardOutput) \(result.standardError)")
            #expect(result.standardOutput.contains(expected), "\(example): \(result.standardOutput)")
            #expect(!result.standardOutput.contains(" 0 frames"), "\(example) did no work: \(result.standardOutput)")
        }
    }
}
