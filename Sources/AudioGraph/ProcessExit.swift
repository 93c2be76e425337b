import Glibc
import Synchronization

/// Whether the process is exiting: set by an `atexit` handler registered
/// when an engine or session hub is first made. Metadata writes (shared
/// state every process on the server sees) are skipped from then on, so no
/// exit path the library controls talks to the server: a server that is
/// gone, or a metadata database another process holds, cannot hang the exit.
package enum ProcessExit {
    private static let exiting = Atomic<Bool>(false)
    private static let registered: Bool = {
        atexit { ProcessExit.markExiting() }
        return true
    }()

    /// Registers the handler (once per process).
    package static func install() { _ = registered }

    /// True once `exit` (or a return from `main`) began.
    package static var isExiting: Bool { exiting.load(ordering: .acquiring) }

    /// Marks the process as exiting; the command line calls it before it
    /// leaves on a signal too.
    package static func markExiting() { exiting.store(true, ordering: .releasing) }
}
