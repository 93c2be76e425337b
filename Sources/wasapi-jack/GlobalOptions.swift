/// The options every command shares, accepted before the command name as
/// pactl and pw-cli take them (`wasapi-jack --server NAME devices`) as well
/// as after it.
///
/// ArgumentParser reads a command's options only after its name, so `main`
/// moves the leading ones there: `--server NAME devices --json` runs as
/// `devices --server NAME --json`. Anything else before the command
/// (`--help`, `--version`, an unknown option) leaves the arguments as they
/// are, for ArgumentParser to answer.
enum GlobalOptions {
    /// Options that take a value in the next argument (or after `=`).
    static let valued: Set<String> = ["--server"]
    /// Flags.
    static let flags: Set<String> = ["--start-server"]

    /// `arguments` (without the program name) with the leading global
    /// options moved after the command name.
    static func hoist(_ arguments: [String]) -> [String] {
        var leading: [String] = []
        var index = 0
        while index < arguments.count, arguments[index].hasPrefix("-") {
            let argument = arguments[index]
            let name = String(argument.split(separator: "=", maxSplits: 1).first ?? "")
            if flags.contains(argument) || (valued.contains(name) && argument.contains("=")) {
                leading.append(argument)
                index += 1
            } else if valued.contains(argument), index + 1 < arguments.count {
                leading += [argument, arguments[index + 1]]
                index += 2
            } else {
                return arguments
            }
        }
        guard !leading.isEmpty, index < arguments.count else { return arguments }
        return [arguments[index]] + leading + arguments[(index + 1)...]
    }
}
