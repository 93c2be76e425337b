import AudioGraph
import Foundation
import JackEngine
import Realtime
import Synchronization

/// A second JACK client whose input ports record whatever is connected to
/// them: the independent witness of what a stream put into the graph.
final class PortProbe: @unchecked Sendable {
    let client: JackClient
    let channels: Int
    private let ring: RealtimeBox<FrameRing>
    private let slot: RealtimeBox<StreamSlot>
    private let index: InstalledSlot
    private let collected = Mutex<[Float]>([])

    init(serverName: String, name: String = "probe", channels: Int = 2, capacity: Int = 1 << 20) throws {
        let client = try JackClient(name: name, serverName: serverName)
        self.client = client
        self.channels = channels
        let ports = try (1...channels).map { try client.registerPort("in_\($0)", direction: .input) }
        ring = RealtimeBox(FrameRing(capacity: capacity, bytesPerFrame: channels * 4))
        slot = RealtimeBox(StreamSlot(direction: .capture, ports: ports, ring: ring.pointer))
        index = try client.install(slot)
        try client.activate()
        slot.pointer.pointee.running.store(true, ordering: .releasing)
    }

    deinit {
        client.uninstall(index)
        client.close()
    }

    /// Connects `sources` (full port names) to the probe's inputs in order.
    func connect(from sources: [String]) throws {
        for (channel, source) in sources.enumerated() {
            try client.connect(source, to: "\(client.name):in_\(channel + 1)")
        }
    }

    /// Moves what the ports recorded so far into ``samples`` and returns the total frames.
    @discardableResult
    func drain() -> Int {
        let ring = self.ring.pointer
        let frames = ring.pointee.readableFrames()
        var buffer = [Float](repeating: 0, count: frames * channels)
        let read = buffer.withUnsafeMutableBytes { ring.pointee.read(into: $0.baseAddress!, frames: frames) }
        return collected.withLock {
            $0 += buffer.prefix(read * channels)
            return $0.count / channels
        }
    }

    /// Interleaved samples recorded so far (call ``drain()`` first).
    var samples: [Float] { collected.withLock { $0 } }

    /// One channel of the recording.
    func channel(_ index: Int) -> [Float] {
        let all = samples
        return stride(from: index, to: all.count, by: channels).map { all[$0] }
    }

    /// Frames recorded since the first non-silent sample (0 before it).
    func framesSinceSound() -> Int {
        let left = channel(0)
        guard let first = left.firstIndex(where: { abs($0) > 1e-4 }) else { return 0 }
        return left.count - first
    }

    var overrunFrames: UInt64 { ring.pointer.pointee.overrunFrames() }
}

/// Runs `body` repeatedly on a dedicated thread (not the cooperative pool:
/// it blocks on the stream's event) until it returns false or `stop()`.
final class StreamThread: @unchecked Sendable {
    private final class Control: Sendable {
        let stopRequested = Atomic<Bool>(false)
        let finished = Atomic<Bool>(false)
    }
    private let control = Control()

    init(_ body: @escaping @Sendable () -> Bool) {
        let control = self.control
        let thread = Thread {
            while !control.stopRequested.load(ordering: .relaxed) && body() {}
            control.finished.store(true, ordering: .releasing)
        }
        thread.start()
    }

    /// Asks the loop to end and waits until it has.
    func stop() {
        control.stopRequested.store(true, ordering: .relaxed)
        while !control.finished.load(ordering: .acquiring) { usleep(1000) }
    }
}
