import Foundation
import JackTestSupport
import Testing

@Suite("Test harness: bounded waits for child processes", .timeLimit(.minutes(15)))
struct ChildProcessTimeoutTests {
    @Test("a child that never exits (and ignores SIGTERM) is killed at the timeout and reported with its output")
    func hungChildKilled() throws {
        let started = Date()
        let child = try RunningProcess(executable: "/bin/sh",
                                       arguments: ["-c", "trap '' TERM; echo started; exec sleep 1000"])
        let error = #expect(throws: ChildProcessTimeout.self) { try child.waitForExit(timeoutSeconds: 1) }
        let elapsed = Date().timeIntervalSince(started)
        #expect(!child.isRunning)
        #expect(elapsed < 90, "the wait took \(elapsed) s (timeout 1 s, the stacks: up to 60 s, 2 s for SIGTERM)")
        #expect(error?.stage.contains("exit") == true, "\(String(describing: error))")
        #expect(error?.standardOutput.contains("started") == true, "\(String(describing: error))")
        #expect(error?.description.contains("sleep 1000") == true)
    }

    @Test("runProgram reports a hung child as an error instead of hanging")
    func runProgramTimesOut() throws {
        let error = #expect(throws: ChildProcessTimeout.self) {
            try runProgram("/bin/sh", ["-c", "echo chatty; exec sleep 1000"], timeoutSeconds: 1)
        }
        #expect(error?.standardOutput.contains("chatty") == true, "\(String(describing: error))")
    }

    @Test("a child that exits while something it started holds its output open is reported at that stage")
    func heldPipeReported() throws {
        let child = try RunningProcess(executable: "/bin/sh", arguments: ["-c", "sleep 1000 & echo $!"])
        let error = #expect(throws: ChildProcessTimeout.self) { try child.waitForExit(timeoutSeconds: 1) }
        #expect(error?.stage.contains("output") == true, "\(String(describing: error))")
        if let orphan = pid_t(child.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)) {
            kill(orphan, SIGKILL)
        }
    }

    @Test("a hung child is reported with its threads' stacks (gdb)")
    func hungChildPrintsStacks() throws {
        // This test binary, running only the test below, which then blocks
        // (20 s: a loaded machine takes a while to start the binary).
        let error = #expect(throws: ChildProcessTimeout.self) {
            try runProgram(CommandLine.arguments[0],
                           ["--testing-library", "swift-testing", "--filter", "ChildProcessTimeoutTests/blocksWhenAsked"],
                           environment: [Self.blockVariable: "1"], timeoutSeconds: 20)
        }
        let stacks = error?.stacks ?? ""
        #expect(stacks.contains("blocksWhenAsked"), "the blocked thread's frames: \(stacks.suffix(4000))")
        #expect(!stacks.isEmpty && error?.description.contains(stacks) == true, "the error shows the stacks")
    }

    static let blockVariable = "WASAPI_TEST_BLOCK_FOR_STACKS"

    /// Blocks (for the test above, in a child process).
    @Test(.enabled(if: ProcessInfo.processInfo.environment[blockVariable] != nil, "run by hungChildPrintsStacks"))
    func blocksWhenAsked() {
        sleep(600)
    }

    @Test("a child that finishes in time gives its status and whole output")
    func normalChild() throws {
        let result = try runProgram("/bin/sh", ["-c", "seq 1 20000; echo oops >&2; exit 3"], timeoutSeconds: 20)
        #expect(result.status == 3)
        #expect(result.standardOutput.hasSuffix("19999\n20000\n"))
        #expect(result.standardError == "oops\n")
    }
}
