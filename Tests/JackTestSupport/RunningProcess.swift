import Foundation
import Synchronization

/// A program running beside a test (the built tool, or one of JACK's own
/// clients such as `jack_iodelay`), whose output the test reads as it comes.
///
/// Every wait is bounded: output is collected on a reader thread (with
/// `poll`) while the caller polls a deadline, so a child that hangs, or one
/// whose descendant keeps its pipes open, never hangs the suite.
public final class RunningProcess: Sendable {
    /// The child's pid, and its wait status once reaped.
    private let child: Mutex<(pid: pid_t, status: Int32?)>
    /// The command line, for messages.
    public let commandLine: String
    private let collector: OutputCollector
    private static let spawnLock = NSLock()

    /// Starts `executable` with `arguments` and `environment` additions.
    ///
    /// Spawned directly (`posix_spawn`), not through Foundation's `Process`,
    /// whose `waitUntilExit` and `terminationStatus` also wait for output
    /// pipes that an orphaned grandchild may hold open forever.
    public init(executable: String, arguments: [String], environment: [String: String] = [:]) throws {
        commandLine = ([executable] + arguments).joined(separator: " ")
        // Pipes are made close-on-exec and the child spawned under one lock, so that
        // no other child of these helpers inherits this one's pipes (and holds them open).
        Self.spawnLock.lock()
        defer { Self.spawnLock.unlock() }
        var outputPipe: [Int32] = [0, 0], errorPipe: [Int32] = [0, 0]
        guard pipe(&outputPipe) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        guard pipe(&errorPipe) == 0 else {
            let code = errno
            outputPipe.forEach { close($0) }
            throw POSIXError(POSIXErrorCode(rawValue: code) ?? .EIO)
        }
        for descriptor in outputPipe + errorPipe { _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, outputPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errorPipe[1], 2)
        let merged = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        var cArguments: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        var cEnvironment: [UnsafeMutablePointer<CChar>?] = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (cArguments + cEnvironment).forEach { free($0) } }
        var pid: pid_t = 0
        let code = withFreshSignalState { posix_spawn(&pid, executable, &actions, $0, &cArguments, &cEnvironment) }
        close(outputPipe[1])
        close(errorPipe[1])
        guard code == 0 else {
            close(outputPipe[0])
            close(errorPipe[0])
            throw POSIXError(POSIXErrorCode(rawValue: code) ?? .EIO)
        }
        child = Mutex((pid, nil))
        collector = OutputCollector(standardOutput: outputPipe[0], standardError: errorPipe[0])
    }

    /// Starts a product of this package (see ``builtProductPath(_:)``).
    public convenience init(product: String = "wasapi-jack", arguments: [String],
                            environment: [String: String] = [:]) throws {
        try self.init(executable: builtProductPath(product), arguments: arguments, environment: environment)
    }

    /// Standard output so far.
    public var standardOutput: String { collector.standardOutput.withLock { String(decoding: $0, as: UTF8.self) } }
    /// Standard error so far.
    public var standardError: String { collector.standardError.withLock { String(decoding: $0, as: UTF8.self) } }
    /// The child's pid (for signals a test sends itself).
    public var processIdentifier: Int32 { child.withLock { $0.pid } }
    /// Whether the child has not exited yet (reaps it when it has).
    public var isRunning: Bool { exitStatus == nil }

    /// The wait status once the child has exited, without blocking.
    private var exitStatus: Int32? {
        child.withLock { child in
            if child.status == nil {
                var status: Int32 = 0
                if waitpid(child.pid, &status, WNOHANG) == child.pid { child.status = status }
            }
            return child.status
        }
    }

    /// The exit code, or the number of the signal that ended the child (as
    /// Foundation's `terminationStatus`); -1 while it runs.
    public var terminationStatus: Int32 {
        guard let status = exitStatus else { return -1 }
        return status & 0x7f == 0 ? (status >> 8) & 0xff : status & 0x7f
    }

    /// Waits until `condition` holds for the output so far, or the process
    /// ended, or `timeoutSeconds` passed; returns whether it held.
    public func waitForOutput(timeoutSeconds: Double = 20, until condition: (String) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        while Date() < deadline {
            if condition(standardOutput) { return true }
            if !isRunning { return condition(standardOutput) }
            usleep(20_000)
        }
        return false
    }

    /// Waits, at most `timeoutSeconds` in all, for the process to exit and
    /// then for its output pipes to close, and returns its exit status.
    ///
    /// - Throws: ``ChildProcessTimeout`` naming the stage that did not end
    ///   in time, with the output so far, after stopping the process (see
    ///   ``stop()``). The stacks of a process that did not exit are in the
    ///   error, where gdb is installed (``threadStacks()``).
    public func waitForExit(timeoutSeconds: Double) throws(ChildProcessTimeout) -> Int32 {
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        let stages: [(name: String, isDone: () -> Bool)] = [
            ("waiting for the process to exit", { !self.isRunning }),
            ("reading its output to the end (it exited; something it started holds the pipes open)",
             { self.collector.reachedEnd.load(ordering: .acquiring) }),
        ]
        for stage in stages {
            while !stage.isDone() {
                guard Date() < deadline else {
                    let stacks = isRunning ? threadStacks() : nil
                    stop()
                    throw ChildProcessTimeout(commandLine: commandLine, stage: stage.name, seconds: timeoutSeconds,
                                              standardOutput: standardOutput, standardError: standardError,
                                              stacks: stacks)
                }
                usleep(10_000)
            }
        }
        return terminationStatus
    }

    /// Where every thread of the process waits, as gdb prints it (at most
    /// 60 s: on the loaded two-core VM gdb once needed more than 30); nil
    /// where gdb is not installed or could not attach. Frames in the
    /// program itself are named; the shared libraries' symbols are not read
    /// (`auto-solib-add off`), which is most of gdb's work.
    public func threadStacks() -> String? {
        let gdb = "/usr/bin/gdb"
        guard access(gdb, X_OK) == 0,
              let debugger = try? RunningProcess(executable: gdb, arguments: [
                  "-p", String(processIdentifier), "-batch", "-nx", "-iex", "set auto-solib-add off",
                  "-ex", "thread apply all bt 40"]) else { return nil }
        let deadline = Date().addingTimeInterval(60)
        while debugger.isRunning && Date() < deadline { usleep(10_000) }
        debugger.stop()
        let stacks = debugger.standardOutput
        return stacks.contains("Thread") ? stacks : nil
    }

    /// Sends SIGTERM (if still running), then SIGKILL if the process has not
    /// ended within two seconds (one stopped, or catching SIGTERM), and waits
    /// for it (at most five seconds more). Returns its exit status.
    @discardableResult
    public func stop() -> Int32 {
        if isRunning { kill(processIdentifier, SIGTERM) }
        let deadline = Date().addingTimeInterval(2)
        while isRunning && Date() < deadline { usleep(10_000) }
        if isRunning {
            kill(processIdentifier, SIGKILL)
            let killDeadline = Date().addingTimeInterval(5)
            while isRunning && Date() < killDeadline { usleep(10_000) }
        }
        return terminationStatus
    }

    deinit {
        stop()
        collector.abandon.store(true, ordering: .relaxed)
    }
}

/// Reads a child's two pipes on a thread of its own with `poll(2)`, so no
/// read ever blocks a test or one of Foundation's shared queues (a pipe held
/// open by an orphaned grandchild would). The thread ends at end of file on
/// both, or within 100 ms of ``abandon``.
private final class OutputCollector: Sendable {
    /// The bytes so far (decoded when read, so a character split across reads stays whole).
    let standardOutput = Mutex<[UInt8]>([])
    let standardError = Mutex<[UInt8]>([])
    /// Both pipes reached end of file.
    let reachedEnd = Atomic(false)
    /// Set when nobody wants the output any more.
    let abandon = Atomic(false)

    /// Takes ownership of the two read ends and closes them when done.
    init(standardOutput: Int32, standardError: Int32) {
        let thread = Thread { [self] in
            var descriptors = [standardOutput, standardError].map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            var buffer = [UInt8](repeating: 0, count: 65_536)
            while !descriptors.isEmpty && !abandon.load(ordering: .relaxed) {
                guard poll(&descriptors, nfds_t(descriptors.count), 100) > 0 else { continue }
                for index in descriptors.indices.reversed() where descriptors[index].revents != 0 {
                    let count = read(descriptors[index].fd, &buffer, buffer.count)
                    if count < 0 && (errno == EINTR || errno == EAGAIN) { continue }
                    guard count > 0 else {
                        close(descriptors[index].fd)
                        descriptors.remove(at: index)
                        continue
                    }
                    if descriptors[index].fd == standardOutput {
                        self.standardOutput.withLock { $0 += buffer.prefix(count) }
                    } else {
                        self.standardError.withLock { $0 += buffer.prefix(count) }
                    }
                }
            }
            reachedEnd.store(descriptors.isEmpty, ordering: .releasing)
            descriptors.forEach { close($0.fd) }
        }
        thread.name = "child output"
        thread.start()
    }
}

/// A child process that did not finish in time; it has been stopped
/// (SIGTERM, then SIGKILL after two seconds).
public struct ChildProcessTimeout: Error, CustomStringConvertible, Sendable {
    public var commandLine: String
    /// What the wait was for when time ran out.
    public var stage: String
    public var seconds: Double
    public var standardOutput: String
    public var standardError: String
    /// Its threads' stacks when time ran out (``RunningProcess/threadStacks()``).
    public var stacks: String?

    public var description: String {
        "\(commandLine): timed out after \(seconds) s while \(stage); stopped it (SIGTERM, then SIGKILL after 2 s)."
            + "\nstandard output so far:\n\(standardOutput)\nstandard error so far:\n\(standardError)"
            + (stacks.map { "\nits threads when time ran out (gdb):\n\($0)" } ?? "")
    }
}
