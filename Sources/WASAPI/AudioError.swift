import AudioGraph
import PCM

/// The error every WASAPI-shaped call throws: Windows' HRESULT and a message
/// that names what was wrong and, where it helps, what to do.
///
/// Compare errors by ``code``; the message is for people.
public struct AudioError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The HRESULT Windows returns in the same situation.
    public let code: HRESULT
    /// What went wrong, in words.
    public let message: String

    public init(_ code: HRESULT, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(message) [\(code)]" }

    /// Translates a JACK failure into the HRESULT an application expects.
    init(_ error: EngineError) {
        switch error {
        case .serverNotRunning, .otherServerInUse, .metadataHeld, .requestsHeld:
            self.init(.AUDCLNT_E_SERVICE_NOT_RUNNING, error.description)
        case .clientClosed:
            self.init(.AUDCLNT_E_DEVICE_INVALIDATED, error.description)
        default:
            self.init(.AUDCLNT_E_ENDPOINT_CREATE_FAILED, error.description)
        }
    }
}

extension AudioError {
    /// A rejected wave format, with the field named.
    init(_ error: FormatError) {
        self.init(error.code, "\(error.field): \(error.message)")
    }
}
