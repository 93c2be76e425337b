import FoundationEssentials

/// GUIDs as WASAPI passes them (session GUIDs, grouping parameters, event
/// contexts) are Foundation `UUID`s in the API; session records shared with
/// other processes keep them in registry format.
extension UUID {
    /// `GUID_NULL`: in the API a nil context stands for it.
    static let null = UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))

    /// `{XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}`, upper case.
    var registryFormat: String { "{" + uuidString + "}" }

    /// From registry format (either case); nil when `text` is not one.
    init?(registryFormat text: String) {
        guard text.utf8.count == 38, text.hasPrefix("{"), text.hasSuffix("}") else { return nil }
        self.init(uuidString: String(text.dropFirst().dropLast()))
    }

    /// An event context as records keep it: `GUID_NULL` for none.
    static func context(_ context: UUID?) -> String { (context ?? .null).registryFormat }

    /// An event context as callbacks receive it: nil for `GUID_NULL`.
    static func context(fromRecord text: String) -> UUID? {
        UUID(registryFormat: text).flatMap { $0 == .null ? nil : $0 }
    }
}
