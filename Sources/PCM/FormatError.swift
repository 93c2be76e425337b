/// Why a wave format was rejected: the HRESULT WASAPI returns for it, the
/// WAVEFORMATEX field at fault, and a sentence for people.
public struct FormatError: Error, Hashable, Sendable, CustomStringConvertible {
    /// E_INVALIDARG for a structurally inconsistent format,
    /// AUDCLNT_E_UNSUPPORTED_FORMAT for a consistent one nobody converts.
    public let code: HRESULT
    /// The field at fault, by its Windows name (`nBlockAlign`, `cbSize`, ...).
    public let field: String
    public let message: String

    public init(_ code: HRESULT, field: String, _ message: String) {
        self.code = code
        self.field = field
        self.message = message
    }

    public var description: String { "\(field): \(message) [\(code)]" }
}
