#if WASAPI_JACK_TSAN
import Realtime

/// ThreadSanitizer builds only: `Mutex` is the pthread-based stand-in that the
/// sanitizer understands (see `SanitizerMutex`); a module's own declaration
/// shadows `Synchronization.Mutex`. Other builds use `Synchronization.Mutex`.
typealias Mutex<Value: ~Copyable> = SanitizerMutex<Value>
#endif
