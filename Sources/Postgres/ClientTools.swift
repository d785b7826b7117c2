import Foundation

/// `psql`: interactive (`pgarchive clone psql`) or running one command or file.
public struct Psql: Sendable, Equatable {
    public var binaries: PostgresBinaries
    public var conninfo: String
    /// `--command`: SQL (or a backslash command) to run instead of reading stdin.
    public var sql: String?
    /// `--file`.
    public var file: String?
    /// `-v ON_ERROR_STOP=1`: stop at the first error and exit 3.
    public var onErrorStop = true
    /// `--no-psqlrc`: ignore the user's ~/.psqlrc (for scripted runs).
    public var noPsqlrc = false
    /// `--tuples-only --no-align`: bare values, for scripts.
    public var bareOutput = false
    public var quiet = false
    public var noPassword = true

    public init(binaries: PostgresBinaries, conninfo: String, sql: String? = nil, file: String? = nil,
                onErrorStop: Bool = true, noPsqlrc: Bool = false, bareOutput: Bool = false,
                quiet: Bool = false, noPassword: Bool = true) {
        self.binaries = binaries
        self.conninfo = conninfo
        self.sql = sql
        self.file = file
        self.onErrorStop = onErrorStop
        self.noPsqlrc = noPsqlrc
        self.bareOutput = bareOutput
        self.quiet = quiet
        self.noPassword = noPassword
    }

    public var command: ToolCommand {
        get throws(PostgresError) {
            var arguments = ["-d", try checkedConninfo(conninfo)]
            if noPsqlrc { arguments.append("--no-psqlrc") }
            if onErrorStop { arguments += ["-v", "ON_ERROR_STOP=1"] }
            if bareOutput { arguments += ["--tuples-only", "--no-align"] }
            if quiet { arguments.append("--quiet") }
            if noPassword { arguments.append("--no-password") }
            if let sql { arguments.append("--command=\(sql)") }
            if let file { arguments.append("--file=\(file)") }
            return ToolCommand(executable: binaries.path("psql"), arguments: arguments)
        }
    }
}

/// `pg_amcheck`: verifies heap tables and btree indexes of every database of a server (by
/// default `--all --heapallindexed --install-missing`: for a throwaway clone, where
/// installing the amcheck extension changes nothing that is kept). Exit 0: no corruption,
/// 2: corruption found, 1: other errors.
public struct PgAmcheck: Sendable, Equatable {
    public var binaries: PostgresBinaries
    /// Socket directory or host name.
    public var host: String
    public var port: Int
    public var user: String?
    public var all = true
    public var heapAllIndexed = true
    public var installMissing = true
    public var jobs: Int?
    public var noPassword = true

    public init(binaries: PostgresBinaries, host: String, port: Int, user: String? = nil, all: Bool = true,
                heapAllIndexed: Bool = true, installMissing: Bool = true, jobs: Int? = nil, noPassword: Bool = true) {
        self.binaries = binaries
        self.host = host
        self.port = port
        self.user = user
        self.all = all
        self.heapAllIndexed = heapAllIndexed
        self.installMissing = installMissing
        self.jobs = jobs
        self.noPassword = noPassword
    }

    public var command: ToolCommand {
        var arguments = ["--host=\(host)", "--port=\(port)"]
        if let user { arguments.append("--username=\(user)") }
        if all { arguments.append("--all") }
        if heapAllIndexed { arguments.append("--heapallindexed") }
        if installMissing { arguments.append("--install-missing") }
        if let jobs { arguments.append("--jobs=\(jobs)") }
        if noPassword { arguments.append("--no-password") }
        return ToolCommand(executable: binaries.path("pg_amcheck"), arguments: arguments)
    }
}
