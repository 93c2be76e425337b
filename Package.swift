// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "wasapi-jack",
    products: [
        .library(name: "WASAPI", targets: ["WASAPI"]),
        .library(name: "JackEngine", targets: ["JackEngine"]),
        .library(name: "PCM", targets: ["PCM"]),
        .library(name: "Realtime", targets: ["Realtime"]),
        .executable(name: "wasapi-jack", targets: ["wasapi-jack"]),
    ],
    dependencies: [
        // Only the command-line tool depends on a package; the library targets have none.
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
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
        // The JACK client, its process callback and stream slots.
        .target(name: "JackEngine", dependencies: ["Realtime", "PCM", "CJack", "CLinuxSystem", "CProcessCycle"]),
        // The public WASAPI-shaped API.
        .target(name: "WASAPI", dependencies: ["JackEngine", "PCM", "Realtime"]),
        // Tone measurements shared by the command-line tool and the tests.
        .target(name: "SignalAnalysis"),
        // The command-line tool.
        .executableTarget(
            name: "wasapi-jack",
            dependencies: [
                "WASAPI", "JackEngine", "Realtime", "PCM", "SignalAnalysis", "CProcessCycle", "CSndFile",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),

        // Examples that follow Microsoft's WASAPI samples (built by CI).
        .executableTarget(name: "SharedEventRender", dependencies: ["WASAPI", "PCM", "Realtime"], path: "examples/SharedEventRender"),
        .executableTarget(name: "SharedTimerCapture", dependencies: ["WASAPI", "PCM"], path: "examples/SharedTimerCapture"),
        .executableTarget(name: "ExclusiveEventRender", dependencies: ["WASAPI", "PCM", "Realtime"], path: "examples/ExclusiveEventRender"),
        .executableTarget(name: "LoopbackCapture", dependencies: ["WASAPI", "PCM"], path: "examples/LoopbackCapture"),
        .executableTarget(name: "LowLatencyMonitor", dependencies: ["WASAPI", "Realtime"], path: "examples/LowLatencyMonitor"),

        // Test support: a private jackd per test process.
        .target(name: "JackTestSupport", dependencies: ["JackEngine", "CJack"], path: "Tests/JackTestSupport"),
        .testTarget(name: "RealtimeTests", dependencies: ["Realtime", "JackTestSupport"]),
        .testTarget(name: "PCMTests", dependencies: ["PCM", "JackTestSupport"]),
        .testTarget(name: "JackEngineTests", dependencies: ["JackEngine", "JackTestSupport", "CJack"]),
        .testTarget(name: "WASAPITests", dependencies: ["WASAPI", "JackEngine", "PCM", "Realtime", "SignalAnalysis", "JackTestSupport"]),
        .testTarget(name: "CLITests", dependencies: ["JackTestSupport", "PCM", "SignalAnalysis"]),
    ]
)
