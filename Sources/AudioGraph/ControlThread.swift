import Glibc

/// A plain POSIX thread running one closure: the library's own control thread
/// (graph rescans, notifications to the application). Not real-time.
///
/// Thread safety: ``join()`` from any thread but the control thread itself.
package final class ControlThread: @unchecked Sendable {
    private var thread = pthread_t()

    /// Starts `body` on a new thread.
    package init(_ body: @escaping @Sendable () -> Void) {
        let context = Unmanaged.passRetained(Box(body)).toOpaque()
        let code = pthread_create(&thread, nil, { argument in
            let box = Unmanaged<Box>.fromOpaque(argument!).takeRetainedValue()
            box.body()
            return nil
        }, context)
        precondition(code == 0, "pthread_create failed (\(code))")
    }

    /// Whether the caller is this thread.
    package var isCurrent: Bool { pthread_equal(pthread_self(), thread) != 0 }

    /// Waits for the thread to end; from the thread itself, detaches instead.
    package func join() {
        if isCurrent { pthread_detach(thread) } else { pthread_join(thread, nil) }
    }

    private final class Box {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
}
