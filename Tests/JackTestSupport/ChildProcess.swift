import Foundation

/// Runs a program built by this package (the `wasapi-jack` tool) as a second
/// process, for tests of what crosses process boundaries and of the CLI.
public struct ChildProcessResult: Sendable {
    public var status: Int32
    public var standardOutput: String
    public var standardError: String
}

/// The path of an executable product built next to the test bundle.
public func builtProductPath(_ name: String) -> String {
    let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    return executable.deletingLastPathComponent().appendingPathComponent(name).path
}

/// Runs `wasapi-jack` (or another built product) with `arguments` and
/// `environment` additions, and waits for it (at most `timeoutSeconds`).
///
/// `swift test` builds every product of the package, so the tool sits next to
/// the test bundle in the same configuration (`-c release` in scripts/test.sh).
public func runBuiltProduct(_ arguments: [String], product name: String = "wasapi-jack",
                            environment: [String: String] = [:],
                            timeoutSeconds: Double = 60) throws -> ChildProcessResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: builtProductPath(name))
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    let output = Pipe(), error = Pipe()
    process.standardOutput = output
    process.standardError = error
    try process.run()
    // Read before waiting so that a chatty child never blocks on a full pipe.
    let outputData = output.fileHandleForReading.readDataToEndOfFile()
    let errorData = error.fileHandleForReading.readDataToEndOfFile()
    let deadline = Date().addingTimeInterval(timeoutSeconds)
    while process.isRunning && Date() < deadline { usleep(10_000) }
    if process.isRunning { process.terminate() }
    process.waitUntilExit()
    return ChildProcessResult(status: process.terminationStatus,
                              standardOutput: String(decoding: outputData, as: UTF8.self),
                              standardError: String(decoding: errorData, as: UTF8.self))
}

/// A fresh private directory under /tmp, for config files a test shares with
/// its child processes.
public func makeTemporaryDirectory(prefix: String = "wasapi-test") -> String {
    var template = Array("/tmp/\(prefix)-XXXXXX".utf8CString)
    return template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
}
