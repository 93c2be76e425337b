/// The tool's arguments: `--streams 8,32,64`, `--seconds 20`,
/// `--format float|resampled`, `--only ours|peer`, `--calls`.
struct LoadOptions {
    var streamCounts = [8, 32, 64, 128]
    var seconds = 20.0
    var format = StreamFormat.float
    var runsOurs = true
    var runsPeer = true
    var calls = false

    init(arguments: [String]) {
        var rest = arguments[...]
        while let option = rest.popFirst() {
            switch option {
            case "--streams":
                streamCounts = rest.popFirst().map { $0.split(separator: ",").compactMap { Int($0) } } ?? streamCounts
            case "--seconds":
                seconds = rest.popFirst().flatMap(Double.init) ?? seconds
            case "--format":
                format = rest.popFirst() == "resampled" ? .resampled : .float
            case "--only":
                let which = rest.popFirst()
                runsOurs = which == "ours"
                runsPeer = which == "peer"
            case "--calls":
                calls = true
            default:
                fatalError("unknown argument \(option); see the comment at the top of main.swift")
            }
        }
    }
}

/// What the streams carry.
enum StreamFormat: String {
    /// float32 stereo at the engine's 48 kHz (the mix format): no conversion.
    case float
    /// int16 stereo at 44.1 kHz with AUTOCONVERTPCM | SRC_DEFAULT_QUALITY (sinc medium).
    case resampled
}
