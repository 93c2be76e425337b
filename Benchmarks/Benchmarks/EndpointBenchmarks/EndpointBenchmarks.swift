import Benchmark
import AudioGraph
import JackEngine
import ServerFixtures
import WASAPI

// Enumerating endpoints over a graph of 64 endpoints and 512 ports on a
// private jackd (dummy backend), started once for the whole run.
//
// - "rescan" is what the engine's control thread does after every graph
//   change: list the ports, read their metadata (pretty name, port group,
//   order) and group them into endpoints.
// - "jack_get_ports" is the floor: only asking jackd for the port names.
// - "EnumAudioEndpoints" and "GetDevice + property store" are what an
//   application calls; they read the engine's current model.

/// The graph under test: 64 clients posing as sound cards, 8 physical ports each.
final class LargeGraph: @unchecked Sendable {
    static let endpointCount = 64
    static let portsPerEndpoint = 8

    let server: JackServerProcess
    let cards: [JackClient]
    let enumerator: MMDeviceEnumerator
    /// The JACK client the enumerator's engine uses.
    let client: JackClient

    init() throws {
        let server = try JackServerProcess.start(.init(name: JackServerProcess.Configuration.uniqueName(prefix: "bench")))
        self.server = server
        cards = try (0..<Self.endpointCount).map { index in
            let card = try JackClient(name: "card\(index)", serverName: server.name)
            let direction: PortDirection = index % 2 == 0 ? .input : .output
            for channel in 1...Self.portsPerEndpoint {
                _ = try card.registerPort("port_\(channel)", direction: direction, flags: [.isPhysical, .isTerminal])
            }
            try card.activate()
            return card
        }
        enumerator = try MMDeviceEnumerator(serverName: server.name)
        client = try JackAudioEngine.shared(serverName: server.name).client
        enumerator.synchronize()
        let found = try enumerator.enumAudioEndpoints(.all, stateMask: .active).count
        precondition(found == Self.endpointCount + 2, "expected 64 cards + the dummy driver's two endpoints, found \(found)")
    }

    deinit {
        cards.forEach { $0.close() }
        server.stop()
    }
}

nonisolated(unsafe) var graph: LargeGraph?

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal],
        timeUnits: .microseconds,
        maxDuration: .seconds(3), maxIterations: 2_000)

    Benchmark.setup = { graph = try LargeGraph() }
    Benchmark.teardown = { graph = nil }

    Benchmark("rescan: 512 ports + metadata -> 64 endpoints") { benchmark in
        let client = graph!.client
        for _ in benchmark.scaledIterations {
            let endpoints = EndpointDiscovery.discover(ports: client.scanPorts())
            blackHole(endpoints)
        }
    }

    Benchmark("rescan part 1: list ports, flags and metadata") { benchmark in
        let client = graph!.client
        for _ in benchmark.scaledIterations {
            blackHole(client.scanPorts())
        }
    }

    Benchmark("rescan part 2: group 512 ports into endpoints") { benchmark in
        let ports = graph!.client.scanPorts()
        for _ in benchmark.scaledIterations {
            blackHole(EndpointDiscovery.discover(ports: ports))
        }
    }

    Benchmark("peer: jack_get_ports alone (512 ports)") { benchmark in
        let client = graph!.client
        for _ in benchmark.scaledIterations {
            blackHole(client.portNames())
        }
    }

    Benchmark("EnumAudioEndpoints(eAll, DEVICE_STATEMASK_ALL)") { benchmark in
        let enumerator = graph!.enumerator
        for _ in benchmark.scaledIterations {
            blackHole(try enumerator.enumAudioEndpoints(.all, stateMask: .all))
        }
    }

    Benchmark("GetDevice + OpenPropertyStore for 64 endpoints") { benchmark in
        let enumerator = graph!.enumerator
        let ids = try enumerator.enumAudioEndpoints(.all, stateMask: .all).map(\.id)
        for _ in benchmark.scaledIterations {
            for id in ids { blackHole(try enumerator.getDevice(id: id).openPropertyStore()) }
        }
    }
}
