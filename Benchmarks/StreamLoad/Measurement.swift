import Foundation
import LoadPeers
import ServerFixtures

/// One side of a point: streams running until `stop()`.
protocol LoadUnderTest: AnyObject {
    /// Frames played as silence since the start, over all streams (engine frames).
    func underrunFrames() -> UInt64
    func stop()
}

struct LoadResult {
    var label: String
    var streams: Int
    var format: StreamFormat
    var failure: String?
    var seconds = 0.0
    var xruns: UInt64 = 0
    var cycles = 0.0
    var underrunShare = 0.0
    var processCPU = 0.0
    var jackdCPU = 0.0
    var dspMedian = 0.0
    var dspMaximum = 0.0
}

/// Starts one side, lets it settle for 2 s, measures for the run's seconds, stops it.
func measure(label: String, streams: Int, format: StreamFormat, server: JackServerProcess, seconds: Double,
             start: () throws -> LoadUnderTest) -> LoadResult {
    var result = LoadResult(label: label, streams: streams, format: format)
    guard let observer = load_observer_open(server.name) else {
        result.failure = "no observer client"
        return result
    }
    defer { load_observer_close(observer) }
    let load: LoadUnderTest
    do { load = try start() } catch {
        result.failure = "\(error)"
        return result
    }
    defer { load.stop() }
    Thread.sleep(forTimeInterval: 2)

    let xruns = load_observer_xruns(observer), underruns = load.underrunFrames()
    let ownTicks = cpuTicks(pid: getpid()), jackdTicks = cpuTicks(pid: server.processID)
    let began = Date()
    var samples: [Double] = []
    while Date().timeIntervalSince(began) < seconds {
        Thread.sleep(forTimeInterval: 0.1)
        samples.append(Double(load_observer_dsp_load(observer)))
    }
    let elapsed = Date().timeIntervalSince(began)
    let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))
    result.seconds = elapsed
    result.xruns = load_observer_xruns(observer) - xruns
    result.cycles = elapsed * 48_000 / 64
    result.underrunShare = Double(load.underrunFrames() - underruns) / (Double(streams) * elapsed * 48_000)
    result.processCPU = Double(cpuTicks(pid: getpid()) - ownTicks) / ticksPerSecond / elapsed * 100
    result.jackdCPU = Double(cpuTicks(pid: server.processID) - jackdTicks) / ticksPerSecond / elapsed * 100
    samples.sort()
    result.dspMedian = samples.isEmpty ? 0 : samples[samples.count / 2]
    result.dspMaximum = samples.last ?? 0
    return result
}

/// utime + stime of a process, in clock ticks (/proc/PID/stat fields 14 and 15).
func cpuTicks(pid: pid_t) -> UInt64 {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = stat.lastIndex(of: ")") else { return 0 }
    // Fields after the command name, which may hold spaces: state is field 3.
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    guard fields.count > 13, let user = UInt64(fields[11]), let system = UInt64(fields[12]) else { return 0 }
    return user + system
}

func printTable(_ rows: [LoadResult]) {
    emit("\n| side | streams | format | late cycles | frames underrun | process CPU | jackd CPU | process + jackd | DSP load median / max |")
    emit("|---|---|---|---|---|---|---|---|---|")
    for row in rows {
        if let failure = row.failure {
            emit("| \(row.label) | \(row.streams) | \(row.format.rawValue) | failed: \(failure) | | | | | |")
            continue
        }
        let late = String(format: "%llu (%.2f %%)", row.xruns, Double(row.xruns) / row.cycles * 100)
        emit("| \(row.label) | \(row.streams) | \(row.format.rawValue) | \(late) | "
              + String(format: "%.3f %% | %.1f %% | %.1f %% | %.1f %% | %.1f / %.1f %% |",
                       row.underrunShare * 100, row.processCPU, row.jackdCPU, row.processCPU + row.jackdCPU,
                       row.dspMedian, row.dspMaximum))
    }
}

/// N separate C JACK clients (see load_peers.c).
final class PeerLoad: LoadUnderTest {
    private let set: OpaquePointer

    struct Failure: Error, CustomStringConvertible { let description: String }

    init(serverName: String, streams: Int, bufferFrames: Int) throws {
        var error = [CChar](repeating: 0, count: 256)
        guard let set = load_peers_start(serverName, Int32(streams), UInt32(bufferFrames), &error, error.count) else {
            throw Failure(description: String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        self.set = set
    }

    func underrunFrames() -> UInt64 { UInt64(load_peers_underrun_frames(set)) }
    func stop() { load_peers_stop(set) }
}

/// Writes a line to standard output at once (no buffering), so that each
/// table appears as soon as its point is measured.
func emit(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
