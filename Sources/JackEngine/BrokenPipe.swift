import Glibc

/// SIGPIPE from libjack's writes to a server that died.
///
/// jackd2's libjack writes requests to the server's socket without
/// `MSG_NOSIGNAL`, and blocks SIGPIPE only in the thread that happens to open
/// the process's first client (`JackLibGlobals`, which restores the mask when
/// it goes). Any other thread that asks something of a server that was just
/// killed is then killed with the whole process by SIGPIPE, where the call
/// should fail (found by the chaos test: the child died of SIGPIPE).
///
/// So, before the first client opens, SIGPIPE is ignored, unless the
/// application installed a handler of its own (that one is kept). Writes to a
/// closed pipe then fail with EPIPE, which every caller handles. Processes
/// spawned by the package restore the default action (`spawn_tied`).
///
/// Thread safety: any thread; idempotent.
enum BrokenPipe {
    private static let ignored: Void = {
        var current = sigaction()
        guard sigaction(SIGPIPE, nil, &current) == 0 else { return }
        // SIG_DFL is a null handler.
        guard current.__sigaction_handler.sa_handler == nil else { return }
        var ignore = sigaction()
        ignore.__sigaction_handler.sa_handler = SIG_IGN
        sigemptyset(&ignore.sa_mask)
        sigaction(SIGPIPE, &ignore, nil)
    }()

    /// Ignores SIGPIPE if it still has its default action (once per process).
    static func ignoreUnlessHandled() { ignored }
}
