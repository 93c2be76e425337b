// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "wasapi-jack",
    products: [
        .library(name: "WASAPI", targets: ["WASAPI"]),
        // A deterministic engine with a virtual clock, for state-machine tests of WASAPI code.
        .library(name: "SimulatedEngine", targets: ["SimulatedEngine"]),
        // Private servers for tests, demos and `--start-server`: not part of the library.
        .library(name: "ServerFixtures", targets: ["ServerFixtures"]),
        // The layers under WASAPI, for the benchmarks package (Benchmarks/) and
        // for programs that drive an engine directly.
        .library(name: "AudioGraph", targets: ["AudioGraph"]),
        .library(name: "JackEngine", targets: ["JackEngine"]),
        .library(name: "PCM", targets: ["PCM"]),
        .library(name: "Realtime", targets: ["Realtime"]),
        .executable(name: "wasapi-jack", targets: ["wasapi-jack"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // The libraries log through swift-log (labels `wasapi-jack.*`); the application decides where it goes.
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // C interop: headers and link flags only, no logic.
        .systemLibrary(
            name: "CJack", pkgConfig: "jack",
            providers: [.apt(["libjack-jackd2-dev"])]),
        .systemLibrary(
            name: "CSampleRate", pkgConfig: "samplerate",
            providers: [.apt(["libsamplerate0-dev"])]),
        // Sound file decoding for `wasapi-jack play` (the tool only).
        .systemLibrary(
            name: "CSndFile", pkgConfig: "sndfile",
            providers: [.apt(["libsndfile1-dev"])]),
        .systemLibrary(name: "CLinuxSystem"),
        // The C types of the in-callback mode (declarations only).
        .systemLibrary(name: "CProcessCycle"),

        // Real-time primitives: SPSC frame ring, event, latest-value cells.
        .target(name: "Realtime", dependencies: ["CLinuxSystem"]),
        // Wave formats, sample conversion, channel maps, resampling.
        .target(name: "PCM", dependencies: ["Realtime", "CSampleRate"]),
        // The seam: what WASAPI needs of an audio engine (the AudioEngine
        // protocol) and the engine-independent real-time half of a stream.
        .target(name: "AudioGraph", dependencies: ["Realtime", "PCM", "CProcessCycle"]),
        // The JACK engine: every JACK call, the process callback, endpoint discovery.
        .target(name: "JackEngine", dependencies: ["AudioGraph", "Realtime", "PCM", "CJack", "CLinuxSystem", "CProcessCycle",
                                                  .product(name: "Logging", package: "swift-log")]),
        // Private jackd servers (test support, demos, the command line's --start-server).
        .target(name: "ServerFixtures", dependencies: ["JackEngine", "CJack", "CLinuxSystem"]),
        // The simulated engine: virtual clock, manual cycles, endpoints added and removed at will.
        .target(name: "SimulatedEngine", dependencies: ["AudioGraph", "Realtime", "CProcessCycle"]),
        // The public WASAPI-shaped API.
        .target(name: "WASAPI", dependencies: ["AudioGraph", "JackEngine", "PCM", "Realtime", "CProcessCycle",
                                              .product(name: "Logging", package: "swift-log")]),
        // Tone measurements shared by the command-line tool and the tests.
        .target(name: "SignalAnalysis"),
        // The command-line tool.
        .executableTarget(
            name: "wasapi-jack",
            dependencies: [
                "WASAPI", "JackEngine", "AudioGraph", "ServerFixtures", "Realtime", "PCM", "SignalAnalysis", "CProcessCycle", "CSndFile",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]),

        // Examples that follow Microsoft's WASAPI samples (built by CI).
        .executableTarget(name: "SharedEventRender", dependencies: ["WASAPI", "PCM", "Realtime"], path: "examples/SharedEventRender"),
        .executableTarget(name: "SharedTimerCapture", dependencies: ["WASAPI", "PCM"], path: "examples/SharedTimerCapture"),
        .executableTarget(name: "ExclusiveEventRender", dependencies: ["WASAPI", "PCM", "Realtime"], path: "examples/ExclusiveEventRender"),
        .executableTarget(name: "LoopbackCapture", dependencies: ["WASAPI", "PCM"], path: "examples/LoopbackCapture"),
        .executableTarget(name: "LowLatencyMonitor", dependencies: ["WASAPI", "Realtime"], path: "examples/LowLatencyMonitor"),

        // Test support: a private jackd per test process.
        // jackd2's metadata database (Berkeley DB), for a test that holds a lock in it.
        .systemLibrary(name: "CBerkeleyDB", path: "Tests/CBerkeleyDB", providers: [.apt(["libdb5.3-dev"])]),
        .target(name: "JackTestSupport", dependencies: ["JackEngine", "ServerFixtures", "CJack"], path: "Tests/JackTestSupport"),
        .testTarget(name: "RealtimeTests", dependencies: ["Realtime", "JackTestSupport"]),
        .testTarget(name: "PCMTests", dependencies: ["PCM", "JackTestSupport"]),
        .testTarget(name: "JackEngineTests", dependencies: ["JackEngine", "AudioGraph", "JackTestSupport", "CJack", "CBerkeleyDB"]),
        .testTarget(name: "WASAPITests", dependencies: ["WASAPI", "JackEngine", "AudioGraph", "PCM", "Realtime", "SignalAnalysis", "JackTestSupport", "SimulatedEngine"]),
        .testTarget(name: "CLITests", dependencies: ["JackTestSupport", "PCM", "SignalAnalysis", "WASAPI"]),
        // Wine's mmdevapi conformance assertions (native Windows behaviour), ported.
        .testTarget(name: "ConformanceTests", dependencies: ["WASAPI", "PCM", "Realtime", "JackTestSupport", "SimulatedEngine"]),
    ]
)
