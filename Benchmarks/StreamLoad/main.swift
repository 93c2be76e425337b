// StreamLoad: N streams in one process (wasapi-jack: one JACK client, a
// stream and a feeding thread each) against N separate C JACK clients, each
// fed by its own thread through a jack_ringbuffer, on the same private jackd
// (dummy backend, 48 kHz, 64-frame periods) in the same run.
//
// Per point, after 2 s of warm-up, over --seconds (default 20):
// - late cycles: xruns the server reported (an observer client counts them);
// - frames underrun: frames the process callbacks played as silence because
//   the application had not written them, as a share of all frames;
// - CPU: this process's and jackd's, from /proc, in % of one core;
// - DSP load: jack_cpu_load sampled every 100 ms, median and maximum.
//
// And --calls: per-period calls (GetCurrentPadding, GetPosition) on 64
// streams from 1 and from 16 threads, in calls per second.
//
// Run from Benchmarks/:
//   swift run -c release --scratch-path .build-load StreamLoad --streams 8,32,64,128 --seconds 20
//   swift run -c release --scratch-path .build-load StreamLoad --streams 64 --format resampled --only ours
//   swift run -c release --scratch-path .build-load StreamLoad --calls
import Foundation
import JackEngine
import ServerFixtures

let options = LoadOptions(arguments: Array(CommandLine.arguments.dropFirst()))
var configuration = JackServerProcess.Configuration(name: JackServerProcess.Configuration.uniqueName(prefix: "stream-load"))
configuration.period = 64
let server: JackServerProcess
do { server = try JackServerProcess.start(configuration) } catch {
    FileHandle.standardError.write(Data("cannot start jackd: \(error)\n".utf8))
    exit(1)
}
defer { server.stop() }
emit("jackd \(server.name): 48 kHz, 64-frame period, dummy backend, real-time \(server.isRealtime); \(options.seconds) s per point")

if options.calls {
    runCallBenchmark(serverName: server.name, streams: 64, threadCounts: [1, 2, 16], seconds: 2)
} else {
    var rows: [LoadResult] = []
    for count in options.streamCounts {
        if options.runsOurs {
            rows.append(measure(label: "ours", streams: count, format: options.format, server: server, seconds: options.seconds) {
                try OursLoad(serverName: server.name, streams: count, format: options.format)
            })
        }
        if options.runsPeer {
            rows.append(measure(label: "peer", streams: count, format: .float, server: server, seconds: options.seconds) {
                try PeerLoad(serverName: server.name, streams: count, bufferFrames: OursLoad.smallestBufferFrames)
            })
        }
        printTable(rows)
    }
}
