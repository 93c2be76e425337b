import AudioGraph
import ArgumentParser
import Dispatch
import Glibc
import Synchronization

/// SIGINT and SIGTERM for the whole command line: the signals are ignored as
/// such and delivered through dispatch sources, whose handler only records
/// the signal and wakes whoever waits (``wait(seconds:)``). Commands check
/// ``check()`` in their loops and throw ``ExitCode`` 128 + signal (130 for
/// SIGINT, 143 for SIGTERM) from there, so the command's streams, enumerator
/// and JACK client are released on the way out, before `main` exits: no
/// `exit()` with a live client, and no metadata written on the way out.
enum Interruption {
    private static let received = Atomic<Int32>(0)
    private static let wakeUp = DispatchSemaphore(value: 0)
    nonisolated(unsafe) private static let sources: [any DispatchSourceSignal] = [SIGINT, SIGTERM].map { number in
        signal(number, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
        source.setEventHandler {
            received.store(number, ordering: .releasing)
            ProcessExit.markExiting()
            wakeUp.signal()
        }
        source.resume()
        return source
    }

    /// Takes SIGINT and SIGTERM over (once, at start-up).
    static func install() { _ = sources }

    /// The signal received, or nil.
    static var signalNumber: Int32? {
        let number = received.load(ordering: .acquiring)
        return number == 0 ? nil : number
    }

    /// Throws `ExitCode(128 + signal)` once SIGINT or SIGTERM arrived.
    static func check() throws {
        if let number = signalNumber { throw ExitCode(128 + number) }
    }

    /// Blocks until SIGINT or SIGTERM arrives or `seconds` pass (nil: no limit).
    static func wait(seconds: Double?) {
        while signalNumber == nil {
            if let seconds {
                _ = wakeUp.wait(timeout: .now() + seconds)
                return
            }
            wakeUp.wait()
        }
    }
}
