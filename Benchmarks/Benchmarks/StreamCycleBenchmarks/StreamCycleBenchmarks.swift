import Benchmark
import AudioGraph
import JackEngine

// What one JACK process cycle costs in stream work: 1, 8 and 64 shared-mode
// streams on a stereo endpoint, a 64-frame period at 48 kHz (1333 µs).
//
// One benchmark iteration is one cycle over all the bank's streams, exactly
// the part of the process callback that scales with the stream count: per
// stream, StreamPipeline.render (ring -> volume -> channel matrix -> port
// planes) or StreamPipeline.capture (the reverse), on float32 stereo at
// 48 kHz. Every shared stream costs the process thread this: streams at
// another rate convert on the application's thread (ConverterBenchmarks).
// Between iterations, outside the measured region, the application's side
// tops the rings up (render) or drains them (capture), so no cycle ever runs
// dry or overflows; a cycle that does fails the benchmark.
//
// Peer: "plain copy", float stereo (de)interleaved between ring and planes by
// a plain loop, what a hand-written C JACK client does per stream. pipeline /
// plain copy is what matrix and volume cost on top.
//
// The application-side conversion of a resampled stream, RenderConverter at
// ReleaseBuffer, is measured against a plain src_process peer
// (ConverterBenchmarks.swift).
//
// "floor" measures an empty region: the clock reads that every figure
// includes once.
//
// Every benchmark counts mallocs in the measured cycle: it must be 0.
//
// Run from Benchmarks/:
//   swift package --scratch-path .build-cyc --allow-writing-to-package-directory \
//       benchmark --target StreamCycleBenchmarks --no-progress
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        timeUnits: .nanoseconds,
        warmupIterations: 100,
        maxDuration: .seconds(1),
        maxIterations: 100_000)

    // The floor under every figure: starting and stopping the measurement
    // around nothing (two clock reads). It matters only next to the
    // single-stream cycles, which take a few hundred nanoseconds.
    Benchmark("floor: empty measured region") { benchmark in
        benchmark.startMeasurement()
        benchmark.stopMeasurement()
    }

    for streams in [1, 8, 64] {
        cycleBenchmark(.render, .plainCopy, streams: streams)
        cycleBenchmark(.render, .pipeline, streams: streams)
    }
    cycleBenchmark(.capture, .plainCopy, streams: 8)
    cycleBenchmark(.capture, .pipeline, streams: 8)
    converterBenchmarks()
}

/// Holds a benchmark's streams from its setup to its teardown, so that only
/// the benchmark that runs has its rings and pipelines allocated.
private final class BankHolder: @unchecked Sendable {
    var bank: StreamBank?
}

/// Registers the benchmark of one cycle over `streams` streams.
private func cycleBenchmark(_ direction: StreamSlot.Direction, _ work: StreamWork, streams: Int) {
    let holder = BankHolder()
    let what = switch work {
    case .pipeline: "float32 48k native"
    case .plainCopy: "plain copy (peer)"
    }
    // Zero-padded so that the report lists 1, 8, 64 in order.
    let count = streams < 10 ? "0\(streams)" : "\(streams)"
    let name = "\(direction == .render ? "render" : "capture") x\(count): \(what)"

    Benchmark(name, closure: { benchmark in
        guard let bank = holder.bank else { return benchmark.error("no streams: setup did not run") }
        if direction == .render { bank.prepareRender() } else { bank.prepareCapture() }

        benchmark.startMeasurement()
        let lost = direction == .render ? bank.renderCycle() : bank.captureCycle()
        benchmark.stopMeasurement()

        blackHole(bank.planeChecksum())
        if lost != 0 { benchmark.error("\(lost) frames lost in one cycle: the rings were not kept ready") }
    }, setup: {
        holder.bank = StreamBank(count: streams, direction: direction, work: work)
    }, teardown: {
        holder.bank = nil
    })
}
