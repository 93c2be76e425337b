import Glibc
import Synchronization

/// Whether the process is exiting: set by an `atexit` handler registered
/// when an engine or session hub is first made, or by ``markExiting()``
/// before a process leaves some other way (on a signal, or through `_exit`).
/// Metadata writes (shared state every process on the server sees) are
/// skipped from then on, so no exit path the library controls talks to the
/// server: a server that is gone, or a metadata database another process
/// holds, cannot hang the exit. The hooks (``onExit(_:)``) let a call still
/// inside the metadata database finish first, so that the process does not
/// die holding its locks.
package enum ProcessExit {
    private static let exiting = Atomic<Bool>(false)
    private static let hooks = Mutex<[@Sendable () -> Void]>([])
    private static let registered: Bool = {
        atexit { ProcessExit.markExiting() }
        return true
    }()

    /// Registers the handler (once per process).
    package static func install() { _ = registered }

    /// True once `exit` (or a return from `main`) began.
    package static var isExiting: Bool { exiting.load(ordering: .acquiring) }

    /// Adds a hook run once when the process starts exiting; each must bound its own wait.
    package static func onExit(_ hook: @escaping @Sendable () -> Void) {
        install()
        hooks.withLock { $0.append(hook) }
    }

    /// Marks the process as exiting and runs the hooks, once; the command
    /// line calls it before it leaves on a signal, a test child before `_exit`.
    package static func markExiting() {
        guard !exiting.exchange(true, ordering: .acquiringAndReleasing) else { return }
        for hook in hooks.withLock({ $0 }) { hook() }
    }
}
