// swift-tools-version: 6.1
// The benchmarks live in their own package so that the library's manifest has
// no benchmark dependency. Run from this directory:
//   swift package --allow-writing-to-package-directory benchmark
import PackageDescription

let package = Package(
    name: "wasapi-jack-benchmarks",
    dependencies: [
        .package(name: "wasapi-jack", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1",
                 traits: ["MallocInterposer"]),
    ],
    targets: [
        // The peers we measure against, straight from their C libraries
        // (jack_ringbuffer, src_process, a plain C JACK client).
        .systemLibrary(name: "CPeers", path: "Sources/CPeers"),
        // A stereo monitor written as a plain C JACK client: the peer of
        // MonitorBenchmarks.
        .target(name: "PlainJackClient", path: "Sources/PlainJackClient",
                linkerSettings: [.linkedLibrary("jack")]),
        // The C side of StreamLoad: N plain JACK clients fed through
        // jack_ringbuffer, and an observer that counts xruns.
        .target(name: "LoadPeers", path: "Sources/LoadPeers",
                linkerSettings: [.linkedLibrary("jack"), .linkedLibrary("m")]),
        // N streams in one process against N C JACK clients, 20 s per point,
        // and per-period calls from 1 and 16 threads (a load test, not a
        // package-benchmark target: see StreamLoad/main.swift).
        .executableTarget(
            name: "StreamLoad",
            dependencies: [
                .product(name: "WASAPI", package: "wasapi-jack"),
                .product(name: "JackEngine", package: "wasapi-jack"),
                .product(name: "ServerFixtures", package: "wasapi-jack"),
                .product(name: "PCM", package: "wasapi-jack"),
                .product(name: "Realtime", package: "wasapi-jack"),
                "LoadPeers",
            ],
            path: "StreamLoad"),
        .executableTarget(
            name: "RingBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "Realtime", package: "wasapi-jack"),
                "CPeers",
            ],
            path: "Benchmarks/RingBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]),
        .executableTarget(
            name: "PCMBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "PCM", package: "wasapi-jack"),
                "CPeers",
            ],
            path: "Benchmarks/PCMBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]),
        .executableTarget(
            name: "EndpointBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "JackEngine", package: "wasapi-jack"),
                .product(name: "AudioGraph", package: "wasapi-jack"),
                .product(name: "ServerFixtures", package: "wasapi-jack"),
                .product(name: "WASAPI", package: "wasapi-jack"),
            ],
            path: "Benchmarks/EndpointBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]),
        .executableTarget(
            name: "StreamCycleBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "JackEngine", package: "wasapi-jack"),
                .product(name: "AudioGraph", package: "wasapi-jack"),
                .product(name: "ServerFixtures", package: "wasapi-jack"),
                .product(name: "PCM", package: "wasapi-jack"),
                .product(name: "Realtime", package: "wasapi-jack"),
                "CPeers",
            ],
            path: "Benchmarks/StreamCycleBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]),
        .executableTarget(
            name: "MonitorBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "JackEngine", package: "wasapi-jack"),
                .product(name: "AudioGraph", package: "wasapi-jack"),
                .product(name: "ServerFixtures", package: "wasapi-jack"),
                .product(name: "Realtime", package: "wasapi-jack"),
                "PlainJackClient",
            ],
            path: "Benchmarks/MonitorBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]),
    ]
)
