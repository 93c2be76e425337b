import ArgumentParser
import Foundation
import PCM
import WASAPI

/// A failure the command explains in one line (what went wrong, what to do).
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Runs a command body; any failure becomes one line on standard error,
/// naming the problem and what to do, and a non-zero exit status.
func reportingFailures(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let exit as ExitCode {
        throw exit
    } catch {
        printToStandardError("wasapi-jack: error: \(explanation(of: error))")
        throw ExitCode.failure
    }
}

/// Prints `value` as the `--json` output of a command: pretty, keys sorted.
func printJSON(_ value: some Encodable) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

/// Writes a line to standard error.
func printToStandardError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}

/// One line for an error, with advice where the error calls for it.
func explanation(of error: any Error) -> String {
    switch error {
    case let failure as CommandFailure:
        return failure.description
    case let wav as WAVError:
        return wav.description
    case let audio as AudioError:
        switch audio.code {
        case .AUDCLNT_E_SERVICE_NOT_RUNNING:
            return "\(audio.message); or pass --start-server to start a private one for this command"
        case .E_NOTFOUND:
            return "\(audio.message); run `wasapi-jack devices` to list the endpoint ids"
        default:
            return audio.description
        }
    case let format as FormatError:
        return format.description
    default:
        return "\(error)"
    }
}

/// The endpoint a command works on: `id`, or the default endpoint of `flow`
/// for `role`.
/// `flow` is the flow the endpoint must have (`purpose` says why, for the error).
func resolveEndpoint(_ id: String?, flow: DataFlow, role: Role = .multimedia, purpose: String,
                     enumerator: MMDeviceEnumerator) throws -> MMDevice {
    let server = enumerator.serverName
    guard let id else {
        do {
            return try enumerator.getDefaultAudioEndpoint(flow, role: role)
        } catch {
            guard error.code == .E_NOTFOUND else { throw error }
            throw CommandFailure("JACK server '\(server)' has no \(flow == .render ? "render" : "capture") endpoint for \(purpose); "
                                 + "run `wasapi-jack devices` to see what it has, and pass one with --device ID")
        }
    }
    let device: MMDevice
    do {
        device = try enumerator.getDevice(id: id)
    } catch {
        switch error.code {
        case .E_NOTFOUND:
            throw CommandFailure("no endpoint with id '\(id)' on JACK server '\(server)'; run `wasapi-jack devices` to list the endpoint ids")
        case .E_INVALIDARG:
            throw CommandFailure("'\(id)' is not an endpoint id ({0.0.F.NNNNNNNN}.{GUID}); run `wasapi-jack devices` to list the endpoint ids")
        default:
            throw error
        }
    }
    guard device.dataFlow == flow else {
        let want = flow == .render ? "a render" : "a capture"
        throw CommandFailure("endpoint '\(id)' is not \(want) endpoint, which \(purpose) needs; "
                             + "run `wasapi-jack devices` to list the endpoint ids")
    }
    guard device.state == .active else {
        throw CommandFailure("endpoint '\(id)' is not present (\(device.state)); run `wasapi-jack devices` to list the active ones")
    }
    return device
}

/// The sample formats `record` writes.
enum SampleFormatOption: String, ExpressibleByArgument, CaseIterable {
    case s16, s24, s32, f32

    var sampleFormat: SampleFormat {
        switch self {
        case .s16: .int16
        case .s24: .int24Packed
        case .s32: .int32
        case .f32: .float32
        }
    }
}

/// The `--role` a command takes (ERole).
enum RoleOption: String, ExpressibleByArgument, CaseIterable {
    case console, multimedia, communications

    var role: Role {
        switch self {
        case .console: .console
        case .multimedia: .multimedia
        case .communications: .communications
        }
    }
}

/// GUIDs on the command line: `{XXXXXXXX-...}` as Windows writes them, or without the braces.
extension UUID: @retroactive ExpressibleByArgument {
    public init?(argument: String) {
        let bare = argument.hasPrefix("{") && argument.hasSuffix("}") ? String(argument.dropFirst().dropLast()) : argument
        self.init(uuidString: bare)
    }
}
