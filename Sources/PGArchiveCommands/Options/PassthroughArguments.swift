import ArgumentParser

/// The words after `--`, which go to a tool unchanged.
extension Array where Element == String {
    /// Without the `--` that ArgumentParser keeps in front of post-terminator arguments.
    var passthrough: [String] { first == "--" ? Array(dropFirst()) : self }
}

/// Arguments for pg_ctl, after `--` (`standby stop -- -m immediate`).
struct PgCtlArguments: ParsableArguments {
    @Argument(parsing: .postTerminator) var pgCtlArguments: [String] = []

    var arguments: [String] { pgCtlArguments.passthrough }
}

/// The help line of a command's psql arguments.
protocol PsqlArgumentsHelp {
    static var help: ArgumentHelp { get }
}

/// Arguments for psql, after `--` (`clone psql NAME -- -c 'SELECT 1'`).
struct PsqlArguments<Help: PsqlArgumentsHelp>: ParsableArguments {
    @Argument(parsing: .postTerminator, help: Help.help) var psqlArguments: [String] = []

    var arguments: [String] { psqlArguments.passthrough }
}
