import Foundation

/// Runs a program built by this package (the `wasapi-jack` tool) as a second
/// process, for tests of what crosses process boundaries and of the CLI.
public struct ChildProcessResult: Sendable {
    public var status: Int32
    public var standardOutput: String
    public var standardError: String

    public init(status: Int32, standardOutput: String, standardError: String) {
        self.status = status
        self.standardOutput = standardOutput
        self.standardError = standardError
    }
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
///
/// - Throws: ``ChildProcessTimeout`` (after stopping the child) when it has not
///   exited and closed its output within `timeoutSeconds`; the output is read
///   while the deadline runs, so a hung or chatty child cannot hang the test.
public func runBuiltProduct(_ arguments: [String], product name: String = "wasapi-jack",
                            environment: [String: String] = [:],
                            timeoutSeconds: Double = 60) throws -> ChildProcessResult {
    try runProgram(builtProductPath(name), arguments, environment: environment, timeoutSeconds: timeoutSeconds)
}

/// Runs `executable` as ``runBuiltProduct(_:product:environment:timeoutSeconds:)`` does.
public func runProgram(_ executable: String, _ arguments: [String], environment: [String: String] = [:],
                       timeoutSeconds: Double = 60) throws -> ChildProcessResult {
    let process = try RunningProcess(executable: executable, arguments: arguments, environment: environment)
    let status = try process.waitForExit(timeoutSeconds: timeoutSeconds)
    return ChildProcessResult(status: status, standardOutput: process.standardOutput,
                              standardError: process.standardError)
}

/// A fresh private directory under /tmp, for config files a test shares with
/// its child processes.
public func makeTemporaryDirectory(prefix: String = "wasapi-test") -> String {
    var template = Array("/tmp/\(prefix)-XXXXXX".utf8CString)
    return template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
}
