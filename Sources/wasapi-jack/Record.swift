import ArgumentParser
import Foundation
import PCM
import WASAPI

/// `wasapi-jack record FILE`: a shared-mode, timer-driven capture stream (or a
/// loopback capture of a render endpoint) written to a WAV file.
struct Record: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Record an endpoint (or, with --loopback, what a render endpoint plays) to a WAV file.",
        discussion: """
            Opens a shared-mode, timer-driven capture stream (IAudioCaptureClient) \
            and writes RIFF/WAVE (PCM or IEEE float; WAVE_FORMAT_EXTENSIBLE for more \
            than two channels or more than 16 bits). Only WAV is written: other \
            container formats (FLAC, Ogg, ...) are not supported.
            """)

    @OptionGroup var serverOptions: ServerOptions

    @Argument(help: "The WAV file to write (replaced if it exists).")
    var file: String

    @Option(help: "Endpoint id (see `wasapi-jack devices`); default: the default capture endpoint, or the default render endpoint with --loopback.")
    var device: String?

    @Flag(help: "Record what a render endpoint plays (loopback capture).")
    var loopback = false

    @Option(help: "Seconds to record; SIGINT or SIGTERM ends the recording early, with the file complete.")
    var seconds: Double = 5

    @Option(help: "Sample format of the file: s16, s24, s32 or f32.")
    var format: SampleFormatOption = .s16

    @Option(help: "Sample rate of the file (default: the engine rate); converted with AUTOCONVERTPCM.")
    var rate: Int?

    @Option(help: "Channels of the file (default: the endpoint's); converted with AUTOCONVERTPCM.")
    var channels: Int?

    @Option(help: "The reading thread's scheduling: pro-audio (real-time just under JACK's, as AvSetMmThreadCharacteristics(\"Pro Audio\") gives on Windows) or normal.")
    var priority: ThreadPriority = .proAudio

    /// Writes another file's samples instead of recording: the sound file
    /// reader and the WAV writer end to end, with no server, so that tests
    /// (which run the built tool) can check both bit for bit.
    @Option(help: ArgumentHelp("Copy this sound file's samples (as `play` reads them) instead of recording; needs no server.",
                               visibility: .hidden))
    var fromFile: String?

    func validate() throws {
        guard seconds.isFinite, seconds > 0, seconds <= 24 * 3600 else {
            throw ValidationError("--seconds must be a positive number of seconds, not \(seconds)")
        }
        if let rate, !(1_000...768_000).contains(rate) {
            throw ValidationError("--rate must be between 1000 and 768000 Hz, not \(rate)")
        }
        if let channels, !(1...32).contains(channels) {
            throw ValidationError("--channels must be between 1 and 32, not \(channels)")
        }
    }

    func run() throws {
        try reportingFailures {
            if let fromFile {
                print(try copy(fromFile))
                return
            }
            let session = try ServerSession.open(options: serverOptions)
            try withExtendedLifetime(session) {
                let summary = try record(enumerator: session.enumerator)
                print(summary)
            }
        }
    }

    /// Writes the samples of `source` to ``file`` in their own rate, channels
    /// and sample format (24-bit samples packed into 3 bytes).
    private func copy(_ source: String) throws -> String {
        let sound = try SoundFile.read(path: source).packing24BitSamples()
        for note in sound.notes { printToStandardError("wasapi-jack: warning: '\(source)': \(note)") }
        let writer = try SoundFileWriter(path: file, format: sound.format)
        try writer.append(contentsOf: sound.data)
        try writer.finish()
        return "wrote \(sound.frames) frames of \(sound.format) from \(source) to \(file)"
    }

    private func record(enumerator: MMDeviceEnumerator) throws -> String {
        let endpoint = try resolveEndpoint(device, flow: loopback ? .render : .capture,
                                           purpose: loopback ? "loopback capture" : "recording",
                                           enumerator: enumerator)
        let client = try endpoint.activateAudioClient()
        let mix = try client.getMixFormat()
        let fileFormat = SoundFileWriter.canonicalFormat(format.sampleFormat,
                                                   sampleRate: rate ?? Int(mix.samplesPerSecond),
                                                   channels: channels ?? Int(mix.channels))
        var flags: StreamFlags = loopback ? [.loopback] : []
        if fileFormat.samplesPerSecond != mix.samplesPerSecond || fileFormat.channels != mix.channels {
            flags.formUnion([.autoConvertPCM, .srcDefaultQuality])
        }
        // One second of buffer: a timer-driven reader wakes every 10 ms.
        try client.initialize(shareMode: .shared, streamFlags: flags, bufferDuration: 10_000_000, format: fileFormat)
        let capture = try client.getCaptureClient()
        let writer = try SoundFileWriter(path: file, format: fileFormat)

        let rate = Int(fileFormat.samplesPerSecond)
        let blockAlign = Int(fileFormat.blockAlign)
        let wanted = Int((seconds * Double(rate)).rounded())
        var frames = 0, discontinuities = 0, silentPackets = 0, packets = 0
        let xrunsBefore = endpoint.xrunCount
        let characteristics = enterProAudio(enumerator, priority)
        defer { try? characteristics?.revert() }
        try client.start()
        let deadline = Date().addingTimeInterval(seconds + 5)
        var stalled = false
        // A signal ends the recording like the last frame would: the file is
        // finished (its sizes written) before the command exits 128 + signal.
        while frames < wanted, Interruption.signalNumber == nil {
            if Date() > deadline { stalled = true; break }
            usleep(10_000)
            while frames < wanted, let packet = try capture.getBuffer() {
                let take = min(packet.frames, wanted - frames)
                // The first packet after Start always carries DATA_DISCONTINUITY (as on
                // Windows): only later ones mean lost audio.
                if packet.flags.contains(.dataDiscontinuity) && packets > 0 { discontinuities += 1 }
                packets += 1
                if packet.flags.contains(.silent) {
                    silentPackets += 1
                    try writer.appendSilence(frames: take)
                } else {
                    try writer.append(UnsafeRawBufferPointer(rebasing: packet.data.prefix(take * blockAlign)))
                }
                frames += take
                try capture.releaseBuffer(frames: packet.frames)
            }
        }
        _ = try client.stop()
        try writer.finish()
        let xruns = endpoint.xrunCount - xrunsBefore
        if stalled {
            throw CommandFailure("the stream delivered only \(frames) of \(wanted) frames in \(Int(seconds + 5)) s "
                                 + "(is the JACK server running its cycles?); '\(file)' holds what arrived")
        }
        let source = loopback ? "loopback of \(endpoint.id)" : endpoint.id
        let summary = String(format: "recorded %d frames (%.2f s) of %@ from %@ to %@; %d discontinuities, %d silent packets, %d xruns",
                             frames, Double(frames) / Double(rate), fileFormat.description, source, file,
                             discontinuities, silentPackets, Int(xruns))
        if let signal = Interruption.signalNumber {
            print("interrupted: " + summary)
            throw ExitCode(128 + signal)
        }
        return summary
    }
}
