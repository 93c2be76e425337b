import CLinuxSystem
import Glibc

/// An auto-reset event backed by a Linux eventfd: the equivalent of the Win32
/// event object an application hands to `IAudioClient::SetEventHandle`.
///
/// The process callback signals it through a ``Signal`` (a plain file
/// descriptor, no reference counting); an application thread waits with a
/// timeout, or polls ``fileDescriptor`` together with its other descriptors
/// (`poll`, `epoll`, a run loop). A successful wait consumes every signal
/// raised before it, as an auto-reset Win32 event would.
///
/// Thread safety: ``signal()`` and ``wait(timeoutMilliseconds:)`` may be called
/// from any thread; ``Signal/raise()`` is `@_noLocks` and safe in the JACK
/// process callback. The descriptor is closed when the event is released, so
/// keep the event alive while any ``Signal`` of it may still be raised.
public final class RealtimeEvent: Sendable {
    /// The eventfd; readable (POLLIN) while the event is signalled.
    public let fileDescriptor: Int32

    /// The outcome of ``wait(timeoutMilliseconds:)``.
    public enum WaitResult: Sendable, Equatable {
        case signaled
        case timedOut
        /// The wait itself failed: `poll` returned this errno (never EINTR,
        /// which is retried), or reported the descriptor invalid (EBADF) or in
        /// error (EIO; an eventfd reports POLLERR when its counter overflows).
        /// Waiting again will fail again: stop waiting on this event.
        case failed(errno: Int32)
    }

    /// Creates an unsignalled event.
    /// - Throws: ``RealtimeError/eventCreationFailed(errno:)`` when the kernel refuses.
    public init() throws(RealtimeError) {
        let fd = eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
        guard fd >= 0 else { throw .eventCreationFailed(errno: errno) }
        fileDescriptor = fd
    }

    deinit { close(fileDescriptor) }

    /// A trivially copyable handle for the real-time thread.
    public var signalHandle: Signal { Signal(fileDescriptor: fileDescriptor) }

    /// Signals the event. Any thread.
    public func signal() { _ = signalHandle.raise() }

    /// Waits until the event is signalled or the timeout passes, then resets it.
    ///
    /// - Parameter timeoutMilliseconds: how long to wait; negative waits forever,
    ///   zero only checks.
    /// - Returns: ``WaitResult/failed(errno:)`` when waiting is impossible,
    ///   which is never reported as a timeout. A signal that interrupts the
    ///   wait (EINTR) is retried with the time that remains.
    /// Blocks: never call it on the JACK process thread.
    public func wait(timeoutMilliseconds: Int) -> WaitResult {
        var descriptor = pollfd(fd: fileDescriptor, events: Int16(POLLIN), revents: 0)
        let deadline = monotonicMilliseconds() + max(timeoutMilliseconds, 0)
        while true {
            let remaining = timeoutMilliseconds < 0 ? -1 : max(0, deadline - monotonicMilliseconds())
            descriptor.revents = 0
            let ready = poll(&descriptor, 1, Int32(clamping: remaining))
            if ready < 0 {
                let code = errno
                // EFAULT, EINVAL, ENOMEM: no later call will do better.
                if code != EINTR { return .failed(errno: code) }
            } else if ready > 0 {
                if descriptor.revents & Int16(POLLNVAL) != 0 { return .failed(errno: EBADF) }
                if consumeSignals() { return .signaled }
                // Readable but nothing to read: another waiter took the counter
                // (keep waiting), unless the descriptor is in error.
                if descriptor.revents & Int16(POLLERR) != 0 { return .failed(errno: EIO) }
            }
            if timeoutMilliseconds >= 0 && monotonicMilliseconds() >= deadline { return .timedOut }
        }
    }

    /// Resets the event without waiting; returns whether it was signalled.
    @discardableResult
    public func reset() -> Bool { consumeSignals() }

    private func consumeSignals() -> Bool {
        var counter: UInt64 = 0
        return read(fileDescriptor, &counter, 8) == 8
    }

    private func monotonicMilliseconds() -> Int {
        Int(trustedMonotonicNanoseconds() / 1_000_000)
    }

    /// What the process callback holds to raise the event: the descriptor only.
    public struct Signal: BitwiseCopyable, Sendable {
        public let fileDescriptor: Int32

        /// Wraps an eventfd descriptor (for state that stores only the descriptor).
        @inlinable
        public init(fileDescriptor: Int32) { self.fileDescriptor = fileDescriptor }

        /// Raises the event. `@_noLocks`: one non-blocking eventfd write.
        /// Returns false only if the kernel refused the write.
        @_noLocks @discardableResult
        public func raise() -> Bool { trustedEventfdIncrement(fileDescriptor) }
    }
}

/// Errors of the real-time primitives' control-path set-up.
public enum RealtimeError: Error, Equatable, Sendable {
    /// `eventfd(2)` failed with this errno.
    case eventCreationFailed(errno: Int32)
}
