import ArgumentParser
import Foundation
import PCM
import Realtime
import WASAPI

/// `wasapi-jack play FILE`: a sound file through a shared-mode render stream in
/// the file's own format (AUTOCONVERTPCM converts rate and channels).
struct Play: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Play a sound file through a render endpoint.",
        discussion: """
            Reads any format libsndfile reads (AIFF, FLAC, Ogg Vorbis, Opus, MP3, \
            CAF, RF64, ...) through libsndfile; a WAV file's format chunk is \
            checked as WASAPI checks a format, and a malformed file is named \
            with what is wrong in it. Integer samples stay integers of their \
            width (24-bit in 32-bit containers); float, double and lossy audio \
            plays as 32-bit float. The stream uses the file's own format with \
            AUTOCONVERTPCM and SRC_DEFAULT_QUALITY.
            """)

    enum Drive: String, ExpressibleByArgument, CaseIterable { case event, timer }
    enum Mode: String, ExpressibleByArgument, CaseIterable { case shared, exclusive }
    /// The stream categories a player is likely to pick.
    enum Category: String, ExpressibleByArgument, CaseIterable {
        case other, media, movie, communications, alerts

        var streamCategory: AudioStreamCategory {
            switch self {
            case .other: .other
            case .media: .media
            case .movie: .movie
            case .communications: .communications
            case .alerts: .alerts
            }
        }
    }

    @OptionGroup var serverOptions: ServerOptions

    @Argument(help: "The sound file to play (WAV, or any format libsndfile reads).")
    var file: String

    @Option(help: "Render endpoint id (see `wasapi-jack devices`); default: the default render endpoint.")
    var device: String?

    @Option(help: "How to wait for buffer space: event (event-driven) or timer (sleep and poll the padding).")
    var drive: Drive = .event

    @Option(help: "Stream buffer in milliseconds.")
    var bufferMs: Int = 50

    @Option(help: "Stream volume 0...1 on every channel (IAudioStreamVolume).")
    var volume: Float?

    @Option(help: "shared or exclusive (exclusive: the device format only, no conversion; a refusal reports the library's error).")
    var mode: Mode = .shared

    @Option(help: "The stream category (IAudioClient2::SetClientProperties): communications ducks other sessions while it plays.")
    var category: Category = .other

    @Option(help: "Without --device: whose default render endpoint to use (console, multimedia, communications).")
    var role: RoleOption = .multimedia

    @Option(help: "The display name of the stream's audio session, as mixers (`wasapi-jack sessions`) show it.")
    var sessionName: String?

    @Option(help: "The audio thread's scheduling: pro-audio (real-time just under JACK's, as AvSetMmThreadCharacteristics(\"Pro Audio\") gives on Windows) or normal.")
    var priority: ThreadPriority = .proAudio

    func validate() throws {
        guard (1...20_000).contains(bufferMs) else {
            throw ValidationError("--buffer-ms must be between 1 and 20000, not \(bufferMs)")
        }
        if let volume, !(volume >= 0 && volume <= 1) {
            throw ValidationError("--volume must be between 0 and 1, not \(volume)")
        }
    }

    func run() throws {
        try reportingFailures {
            // Read the file first: a bad file needs no server.
            let wav = try SoundFile.read(path: file)
            for note in wav.notes { printToStandardError("wasapi-jack: warning: '\(file)': \(note)") }
            let session = try ServerSession.open(options: serverOptions)
            try withExtendedLifetime(session) {
                print(try play(wav, enumerator: session.enumerator))
            }
        }
    }

    /// An initialized render client for `format`. Shared mode converts the
    /// file's format; exclusive mode takes the device format only, and an
    /// event-driven exclusive stream needs periodicity == buffer duration. On
    /// AUDCLNT_E_BUFFER_SIZE_NOT_ALIGNED it does what Windows' samples do:
    /// reads the aligned size from GetBufferSize and initializes a new client.
    private func openStream(_ endpoint: MMDevice, format: WaveFormat) throws -> AudioClient {
        let exclusive = mode == .exclusive
        var flags: StreamFlags = exclusive ? [] : [.autoConvertPCM, .srcDefaultQuality]
        if drive == .event { flags.insert(.eventCallback) }
        func initialize(_ client: AudioClient, duration: ReferenceTime) throws(AudioError) {
            try client.setClientProperties(category: category.streamCategory)
            try client.initialize(shareMode: exclusive ? .exclusive : .shared, streamFlags: flags,
                                  bufferDuration: duration, periodicity: exclusive && drive == .event ? duration : 0,
                                  format: format)
        }
        let client = try endpoint.activateAudioClient()
        do {
            try initialize(client, duration: ReferenceTime(bufferMs) * 10_000)
            return client
        } catch {
            guard exclusive, error.code == .AUDCLNT_E_BUFFER_SIZE_NOT_ALIGNED else { throw error }
            let frames = try client.getBufferSize()
            let aligned = ReferenceTime((Double(frames) * 10_000_000 / Double(format.samplesPerSecond)).rounded())
            let retry = try endpoint.activateAudioClient()
            try initialize(retry, duration: aligned)
            return retry
        }
    }

    /// Says why Initialize refused the stream, and what to do.
    private func initializeFailure(_ error: any Error, endpoint: MMDevice, wav: SoundFile) -> any Error {
        guard let audio = error as? AudioError else { return error }
        if mode == .exclusive {
            return CommandFailure("exclusive mode failed on \(endpoint.id): \(audio.description); use --mode shared")
        }
        if audio.code == .AUDCLNT_E_UNSUPPORTED_FORMAT || audio.code == .E_INVALIDARG {
            return CommandFailure("'\(file)' (\(wav.format)) cannot be played: \(audio.description)")
        }
        return audio
    }

    private func play(_ wav: SoundFile, enumerator: MMDeviceEnumerator) throws -> String {
        let endpoint = try resolveEndpoint(device, flow: .render, role: role.role, purpose: "playback",
                                           enumerator: enumerator)
        let client: AudioClient
        do {
            client = try openStream(endpoint, format: wav.format)
        } catch {
            throw initializeFailure(error, endpoint: endpoint, wav: wav)
        }
        let event = try RealtimeEvent()
        if drive == .event { try client.setEventHandle(event) }
        let render = try client.getRenderClient()
        let bufferFrames = try client.getBufferSize()
        if let sessionName { try client.getSessionControl().setDisplayName(sessionName) }
        if let volume {
            let streamVolume = try client.getStreamVolume()
            try streamVolume.setAllVolumes(Array(repeating: volume, count: try streamVolume.getChannelCount()))
        }

        let blockAlign = Int(wav.format.blockAlign)
        let channels = Int(wav.format.channels)
        let rate = Double(wav.format.samplesPerSecond)
        let total = wav.frames
        let interactive = isatty(1) == 1
        var written = 0
        var peak: Float = 0, overallPeak: Float = 0
        var scratch = [Float](repeating: 0, count: bufferFrames * channels)

        func write(_ frames: Int) throws {
            let count = min(frames, total - written)
            guard count > 0 else { return }
            let buffer = try render.getBuffer(frames: count)
            let start = written * blockAlign
            wav.data.withUnsafeBytes { source in
                buffer.baseAddress!.copyMemory(from: source.baseAddress! + start, byteCount: count * blockAlign)
                if scratch.count < count * channels { scratch = [Float](repeating: 0, count: count * channels) }
                scratch.withUnsafeMutableBufferPointer { floats in
                    SampleConversion.decode(wav.sampleFormat, from: source.baseAddress! + start,
                                            into: floats.baseAddress!, samples: count * channels)
                    for sample in floats.prefix(count * channels) { peak = max(peak, abs(sample)) }
                }
            }
            try render.releaseBuffer(frames: count)
            written += count
        }

        var lastShown = Date.distantPast
        func showProgress(final: Bool = false) {
            guard interactive else { return }
            let now = Date()
            guard final || now.timeIntervalSince(lastShown) >= 0.1 else { return }
            lastShown = now
            overallPeak = max(overallPeak, peak)
            let dB = 20 * log10(max(Double(peak) * Double(volume ?? 1), 1e-9))
            let width = 30
            let filled = max(0, min(width, Int(((dB + 60) / 60 * Double(width)).rounded())))
            let meter = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
            let line = String(format: "\r%7.2f / %.2f s  [%@] %6.1f dBFS ", Double(written) / rate, Double(total) / rate,
                              meter, max(dB, -99.9))
            print(line, terminator: "")
            fflush(nil)
            peak = 0
        }

        let xrunsBefore = endpoint.xrunCount
        // This thread waits for the buffer event: a Windows player registers it with "Pro Audio".
        let characteristics = enterProAudio(enumerator, priority)
        defer { try? characteristics?.revert() }
        try write(bufferFrames)
        try client.start()
        let pollMicroseconds = UInt32(max(1, bufferMs / 4) * 1000)
        func waitForSpace() throws {
            try Interruption.check()
            if drive == .event {
                switch event.wait(timeoutMilliseconds: 2000) {
                case .signaled:
                    break
                case .timedOut:
                    throw CommandFailure("no buffer event for 2 s: the JACK server '\(endpoint.serverName)' "
                                         + "is not running its cycles")
                case .failed(let code):
                    throw CommandFailure("waiting for the buffer event failed: \(String(cString: strerror(code)))")
                }
            } else {
                usleep(pollMicroseconds)
            }
        }
        while written < total {
            try waitForSpace()
            try write(bufferFrames - client.getCurrentPadding())
            showProgress()
        }
        // Let the buffered frames play out before stopping.
        let drainDeadline = Date().addingTimeInterval(Double(bufferMs) / 1000 + 2)
        while try client.getCurrentPadding() > 0 && Date() < drainDeadline {
            try Interruption.check()
            if drive == .event {
                // A failed wait falls back to sleeping: the drain has a deadline anyway.
                if case .failed = event.wait(timeoutMilliseconds: 100) { usleep(pollMicroseconds) }
            } else {
                usleep(pollMicroseconds)
            }
            showProgress()
        }
        _ = try client.stop()
        overallPeak = max(overallPeak, peak)
        if interactive { showProgress(final: true); print() }
        let xruns = endpoint.xrunCount - xrunsBefore
        return String(format: "played %d frames (%.2f s) of %@ from %@ to %@ (%@, %@-driven, buffer %d frames); peak %.1f dBFS, %d xruns",
                      written, Double(written) / rate, wav.format.description, file, endpoint.id,
                      mode.rawValue, drive.rawValue, bufferFrames, 20 * log10(max(Double(overallPeak) * Double(volume ?? 1), 1e-9)),
                      Int(xruns))
    }
}
