import ArgumentParser
import WASAPI

/// How a command's audio thread (the one that waits for the buffer event or
/// polls the buffer) is scheduled.
enum ThreadPriority: String, ExpressibleByArgument, CaseIterable, Sendable {
    /// MMCSS's "Pro Audio" task: real-time, just under JACK's own threads.
    case proAudio = "pro-audio"
    /// Ordinary time-sharing scheduling.
    case normal
}

/// Registers the calling thread with the "Pro Audio" task
/// (`AvSetMmThreadCharacteristics`), as a Windows audio program does on its
/// buffer thread; with `.normal`, or when the system refuses (the reason is
/// printed once to standard error), the thread runs on at ordinary priority
/// and nil is returned. Keep the result for as long as the thread should
/// stay raised: releasing it reverts the thread.
func enterProAudio(_ enumerator: MMDeviceEnumerator, _ priority: ThreadPriority) -> ThreadCharacteristics? {
    guard priority == .proAudio else { return nil }
    do {
        return try enumerator.setThreadCharacteristics(ThreadCharacteristics.proAudio)
    } catch {
        printToStandardError("wasapi-jack: the audio thread runs at normal priority: \(error.message)")
        return nil
    }
}
