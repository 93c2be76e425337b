import Foundation
import JackEngine
import Testing

/// jackd2's libjack writes to a dead server's socket without `MSG_NOSIGNAL`;
/// once the package opened (or tried to open) a client, such a write fails
/// with EPIPE instead of killing the process (issue 14: the chaos child died
/// of SIGPIPE).
@Suite("A write to a closed socket does not kill the process", .timeLimit(.minutes(15)))
struct BrokenPipeTests {
    @Test("after a client open, a write to a socket whose reader is gone fails with EPIPE (in a child process)")
    func brokenPipeFailsTheWrite() async {
        await #expect(processExitsWith: .exitCode(0)) {
            signal(SIGPIPE, SIG_DFL)
            _ = try? JackClient(name: "pipe", serverName: "wasapi-no-such-server-\(getpid())")
            var ends: [Int32] = [0, 0]
            guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &ends) == 0 else { _exit(2) }
            close(ends[1])
            let descriptor = ends[0]
            // On a thread that never opened a client, with SIGPIPE not
            // blocked: where libjack's own mask does not reach.
            let writer = Thread {
                var unblock = sigset_t()
                sigemptyset(&unblock)
                sigaddset(&unblock, SIGPIPE)
                pthread_sigmask(SIG_UNBLOCK, &unblock, nil)
                let byte: UInt8 = 1
                let written = withUnsafePointer(to: byte) { write(descriptor, $0, 1) }
                _exit(written == -1 && errno == EPIPE ? 0 : 3)
            }
            writer.start()
            sleep(10)
            _exit(4)
        }
    }

    @Test("an application's own SIGPIPE handler is kept (in a child process)")
    func ownHandlerIsKept() async {
        await #expect(processExitsWith: .exitCode(0)) {
            signal(SIGPIPE) { _ in }
            _ = try? JackClient(name: "pipe", serverName: "wasapi-no-such-server-\(getpid())")
            var current = sigaction()
            sigaction(SIGPIPE, nil, &current)
            let handler = current.__sigaction_handler.sa_handler.map { unsafeBitCast($0, to: Int.self) } ?? 0
            _exit(handler > 1 ? 0 : 3)  // neither SIG_DFL (0) nor SIG_IGN (1)
        }
    }
}
