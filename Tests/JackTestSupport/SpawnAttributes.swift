import Glibc

/// Calls `body` with `posix_spawn` attributes that start a child with the
/// signal state of a fresh process: no signal blocked, and the signals tests
/// send or children rely on at their default action.
///
/// Without them a child inherits the signal mask of the thread that spawns
/// it, and the threads of Dispatch and of Swift's concurrency pool block most
/// signals. A gdb spawned from one then has SIGCHLD blocked and, on a busy
/// machine, waits forever for the process it attached to stop (CI once lost
/// a thread dump that way); a program spawned from one ignores SIGTERM and
/// SIGINT until it unblocks them itself.
///
/// Thread safety: the attributes are the caller's own; call from any thread.
func withFreshSignalState<Result>(_ body: (UnsafePointer<posix_spawnattr_t>) -> Result) -> Result {
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var nothing = sigset_t()
    sigemptyset(&nothing)
    posix_spawnattr_setsigmask(&attributes, &nothing)
    var defaults = sigset_t()
    sigemptyset(&defaults)
    for signal in [SIGHUP, SIGINT, SIGQUIT, SIGPIPE, SIGALRM, SIGTERM, SIGCHLD, SIGUSR1, SIGUSR2] {
        sigaddset(&defaults, signal)
    }
    posix_spawnattr_setsigdefault(&attributes, &defaults)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
    return body(&attributes)
}
