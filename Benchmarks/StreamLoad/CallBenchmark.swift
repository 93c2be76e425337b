import Foundation
import Synchronization
import WASAPI

/// Per-period calls on `streams` running shared render streams, from 1 and
/// from more threads at once: each thread calls GetCurrentPadding (then
/// GetPosition) round-robin on its own share of the streams for `seconds`.
/// Streams on different threads share nothing on this path, so the total
/// rate should grow with cores, never fall.
func runCallBenchmark(serverName: String, streams: Int, threadCounts: [Int], seconds: Double) {
    do {
        let enumerator = try MMDeviceEnumerator(serverName: serverName)
        let device = try enumerator.getDefaultAudioEndpoint(.render, role: .console)
        var clients: [AudioClient] = []
        for _ in 0..<streams {
            let client = try device.activateAudioClient()
            try client.initialize(shareMode: .shared, streamFlags: [], bufferDuration: 0, format: try client.getMixFormat())
            try client.start()
            clients.append(client)
        }
        let clocks = try clients.map { try $0.getClock() }
        let all = clients
        let calls: [(String, @Sendable (Int) -> Void)] = [
            ("GetCurrentPadding", { index in _ = try? all[index].getCurrentPadding() }),
            ("GetPosition", { index in _ = try? clocks[index].getPosition() }),
        ]
        emit("\n| call, \(streams) streams | threads | calls/s (total) | ns of CPU per call |")
        emit("|---|---|---|---|")
        for (name, call) in calls {
            for threads in threadCounts {
                let (rate, cpuPerCall) = callRate(threads: threads, streams: streams, seconds: seconds, call: call)
                emit("| \(name) | \(threads) | \(String(format: "%.2f M", rate / 1e6)) | \(String(format: "%.0f", cpuPerCall)) |")
            }
        }
        for client in clients { _ = try? client.stop() }
    } catch {
        emit("call benchmark failed: \(error)")
    }
}

/// Total calls per second over `threads` threads, and process CPU time per call.
private func callRate(threads: Int, streams: Int, seconds: Double,
                      call: @escaping @Sendable (Int) -> Void) -> (Double, Double) {
    let go = Atomic<Bool>(false), stop = Atomic<Bool>(false)
    let total = Atomic<Int>(0)
    let group = DispatchGroup()
    for thread in 0..<threads {
        group.enter()
        Thread {
            let mine = Array(stride(from: thread % streams, to: streams, by: threads))
            let share = mine.isEmpty ? [thread % streams] : mine
            while !go.load(ordering: .acquiring) {}
            var count = 0, next = 0
            while !stop.load(ordering: .relaxed) {
                call(share[next])
                next = next + 1 == share.count ? 0 : next + 1
                count += 1
            }
            total.add(count, ordering: .relaxed)
            group.leave()
        }.start()
    }
    let ticks = cpuTicks(pid: getpid())
    let began = Date()
    go.store(true, ordering: .releasing)
    Thread.sleep(forTimeInterval: seconds)
    stop.store(true, ordering: .relaxed)
    group.wait()
    let elapsed = Date().timeIntervalSince(began)
    let cpu = Double(cpuTicks(pid: getpid()) - ticks) / Double(sysconf(Int32(_SC_CLK_TCK)))
    let calls = Double(total.load(ordering: .relaxed))
    return (calls / elapsed, cpu / calls * 1e9)
}
