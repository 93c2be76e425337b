// Starting a child program whose life is tied to ours, without a shell.
// One function; the policy (which program, where its log goes) is in Swift.
#ifndef WASAPI_JACK_CSYSTEM_SPAWN_TIED_H
#define WASAPI_JACK_CSYSTEM_SPAWN_TIED_H
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/// Forks and executes `argv` (NULL-terminated; `argv[0]` should be an absolute
/// path, so that no PATH search runs in the child) with stdin on /dev/null and
/// stdout and stderr on `log_fd`; every other descriptor is closed.
///
/// The child asks the kernel for SIGTERM when its parent dies
/// (PR_SET_PDEATHSIG), and exits at once if the parent is already gone. The
/// kernel sends that signal when the *thread* that called this function ends,
/// so call it from a thread that lives as long as the process.
///
/// Returns the child's pid, or -errno if fork failed. If exec fails the child
/// writes a line to `log_fd` and exits with status 127.
/// Only async-signal-safe calls run between fork and exec.
static inline int wasapi_jack_spawn_tied(char *const argv[], int log_fd) {
    pid_t parent = getpid();
    pid_t child = fork();
    if (child < 0) return -errno;
    if (child > 0) return child;

    if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0) _exit(126);
    if (getppid() != parent) _exit(126);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGPIPE, SIG_DFL);

    int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd < 0 || dup2(null_fd, 0) < 0 || dup2(log_fd, 1) < 0 || dup2(log_fd, 2) < 0) _exit(126);
#ifdef SYS_close_range
    if (syscall(SYS_close_range, 3U, ~0U, 0U) != 0)
#endif
    {
        long limit = sysconf(_SC_OPEN_MAX);
        for (int fd = 3; fd < (limit > 0 && limit < 65536 ? limit : 65536); fd++) close(fd);
    }
    execvp(argv[0], argv);
    static const char message[] = "wasapi-jack: exec failed\n";
    ssize_t ignored = write(2, message, sizeof message - 1);
    (void)ignored;
    _exit(127);
}
#endif
