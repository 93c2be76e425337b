/// The release of wasapi-jack: the one place the version is written (the
/// command line's `--version` prints it).
public enum WASAPIJackVersion {
    /// Semantic version of the library and the command-line tool.
    public static let current = "0.17.0"
}
