import AudioGraph
import JackEngine
import JackTestSupport
import Testing

@Suite("Graph changes reach the control thread", .timeLimit(.minutes(15)))
struct GraphChangeTests {
    @Test("another client's port registration, connection and unregistration arrive in order")
    func portLifecycleArrivesInOrder() async throws {
        try await withJackServer { server in
            let watcher = try JackClient(name: "watcher", serverName: server.name)
            defer { watcher.close() }
            try watcher.activate()
            _ = watcher.graphChanges.take()

            let other = try JackClient(name: "other", serverName: server.name)
            let port = try other.registerPort("out", direction: .output)
            try other.activate()
            try other.connect(port.name, to: "system:playback_1")
            other.unregister(port)
            other.close()

            var changes: [GraphChange] = []
            while !changes.contains(.client(name: "other", registered: false)) {
                try #require(watcher.graphChanges.event.wait(timeoutMilliseconds: 5000) == .signaled)
                changes += watcher.graphChanges.take()
            }
            let registered = changes.firstIndex { if case .port(_, true) = $0 { true } else { false } }
            let connected = changes.firstIndex { if case .connection(_, _, true) = $0 { true } else { false } }
            let unregistered = changes.firstIndex { if case .port(_, false) = $0 { true } else { false } }
            let clientGone = changes.firstIndex(of: .client(name: "other", registered: false))
            #expect(changes.first == .client(name: "other", registered: true))
            let order = try [registered, connected, unregistered, clientGone].map { try #require($0) }
            #expect(order == order.sorted())
        }
    }
}
