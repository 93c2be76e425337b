import Foundation
import Synchronization

/// A program running beside a test (the built tool, or one of JACK's own
/// clients such as `jack_iodelay`), whose output the test reads as it comes.
public final class RunningProcess: Sendable {
    private let process: Process
    private let output = Mutex("")
    private let errorOutput = Mutex("")

    /// Starts `executable` with `arguments` and `environment` additions.
    public init(executable: String, arguments: [String], environment: [String: String] = [:]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let standardOutput = Pipe(), standardError = Pipe()
        process.standardOutput = standardOutput
        process.standardError = standardError
        self.process = process
        standardOutput.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let text = String(decoding: handle.availableData, as: UTF8.self)
            self?.output.withLock { $0 += text }
        }
        standardError.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let text = String(decoding: handle.availableData, as: UTF8.self)
            self?.errorOutput.withLock { $0 += text }
        }
        try process.run()
    }

    /// Starts a product of this package (see ``builtProductPath(_:)``).
    public convenience init(product: String = "wasapi-jack", arguments: [String],
                            environment: [String: String] = [:]) throws {
        try self.init(executable: builtProductPath(product), arguments: arguments, environment: environment)
    }

    /// Standard output so far.
    public var standardOutput: String { output.withLock { $0 } }
    /// Standard error so far.
    public var standardError: String { errorOutput.withLock { $0 } }

    /// Waits until `condition` holds for the output so far, or the process
    /// ended, or `timeoutSeconds` passed; returns whether it held.
    public func waitForOutput(timeoutSeconds: Double = 20, until condition: (String) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        while Date() < deadline {
            if condition(standardOutput) { return true }
            if !process.isRunning { return condition(standardOutput) }
            usleep(20_000)
        }
        return false
    }

    /// Sends SIGTERM (if still running), then SIGKILL if the process has not
    /// ended within two seconds (`jack_iodelay` blocks SIGTERM), and waits
    /// for it. Returns its exit status.
    @discardableResult
    public func stop() -> Int32 {
        if process.isRunning { process.terminate() }
        let deadline = Date().addingTimeInterval(2)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        return process.terminationStatus
    }

    deinit { stop() }
}
