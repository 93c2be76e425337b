import Foundation
import JackTestSupport
import Testing
import WASAPI

/// The command-line conventions of issue 17: global options before the
/// command, `demo` on a server of its own, `--version`.
@Suite("wasapi-jack global options", .serialized, .timeLimit(.minutes(15)))
struct GlobalOptionsTests {
    @Test("--server NAME before the command, with a space or '=', lists what it lists after the command")
    func serverBeforeCommand() async throws {
        try await withJackServer { server in
            let after = try runBuiltProduct(["devices", "--server", server.name, "--json"])
            #expect(after.status == 0, "\(after.standardError)")
            #expect(after.standardOutput.contains("system"), "\(after.standardOutput)")
            for leading in [["--server", server.name], ["--server=\(server.name)"]] {
                let before = try runBuiltProduct(leading + ["devices", "--json"])
                #expect(before.status == 0, "\(leading): \(before.standardError)")
                #expect(before.standardOutput == after.standardOutput, "\(leading)")
            }
            // A positional argument after the command stays where it was.
            let missing = try runBuiltProduct(["--server", server.name, "volume", "no-such-session", "0.5"])
            expectCleanFailure(missing, mentioning: ["no-such-session"])
        }
    }

    @Test("--server NAME --start-server before the command starts a private server of that name, stopped on exit")
    func startServerBeforeCommand() throws {
        let name = "wasapi-cli-global-\(getpid())"
        let result = try runBuiltProduct(["--server", name, "--start-server", "devices"], timeoutSeconds: 60)
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput.contains("started a private JACK server '\(name)'"), "\(result.standardOutput)")
        let afterwards = try runBuiltProduct(["--server", name, "devices"])
        expectCleanFailure(afterwards, mentioning: ["'\(name)'", "--start-server"])
    }

    @Test("demo with no server answering starts its own, passes, and stops it on exit")
    func demoStartsItsOwnServer() throws {
        let name = "wasapi-cli-demo-\(getpid())"
        let result = try runBuiltProduct(["demo", "--server", name], timeoutSeconds: 90)
        #expect(result.status == 0, "\(result.standardOutput)\n\(result.standardError)")
        #expect(result.standardOutput.contains("started a private JACK server '\(name)'"), "\(result.standardOutput)")
        #expect(result.standardOutput.contains("JACK server '\(name)'"))
        #expect(result.standardOutput.hasSuffix("PASS\n"), "\(result.standardOutput)")
        let afterwards = try runBuiltProduct(["devices", "--server", name])
        expectCleanFailure(afterwards, mentioning: ["'\(name)'"])
    }

    @Test("--version prints the library's version, before or without a command")
    func version() throws {
        let result = try runBuiltProduct(["--version"])
        #expect(result.status == 0)
        #expect(result.standardOutput == WASAPIJackVersion.current + "\n")
        #expect(WASAPIJackVersion.current.split(separator: ".").count == 3)
    }
}
