import Foundation

/// `pg_dump` of one database.
public struct PgDump: Sendable, Equatable {
    /// `--format`.
    public enum Format: String, Sendable {
        case plain = "p", custom = "c", directory = "d", tar = "t"
    }

    public var binaries: PostgresBinaries
    /// Connection string naming the database (`dbname=…`).
    public var conninfo: String
    /// `--file`: a file, or a directory for `.directory`.
    public var outputFile: String
    public var format: Format = .custom
    /// `--jobs`: parallel dump, only with `.directory`.
    public var jobs: Int?
    /// `--compress` level (0–9) for custom and directory formats.
    public var compressLevel: Int?
    public var verbose = false
    public var noPassword = true

    public init(binaries: PostgresBinaries, conninfo: String, outputFile: String, format: Format = .custom,
                jobs: Int? = nil, compressLevel: Int? = nil, verbose: Bool = false, noPassword: Bool = true) {
        self.binaries = binaries
        self.conninfo = conninfo
        self.outputFile = outputFile
        self.format = format
        self.jobs = jobs
        self.compressLevel = compressLevel
        self.verbose = verbose
        self.noPassword = noPassword
    }

    public var command: ToolCommand {
        get throws(PostgresError) {
            var arguments = ["-d", try checkedConninfo(conninfo), "--file=\(outputFile)",
                             "--format=\(format.rawValue)"]
            if let jobs {
                guard format == .directory else {
                    throw .invalidInput("pg_dump --jobs=\(jobs) needs the directory format")
                }
                arguments.append("--jobs=\(jobs)")
            }
            if let compressLevel { arguments.append("--compress=\(compressLevel)") }
            if verbose { arguments.append("--verbose") }
            if noPassword { arguments.append("--no-password") }
            return ToolCommand(executable: binaries.path("pg_dump"), arguments: arguments)
        }
    }
}

/// `pg_dumpall`, normally `--globals-only` (roles, tablespaces) next to per-database pg_dumps.
public struct PgDumpAll: Sendable, Equatable {
    public var binaries: PostgresBinaries
    public var conninfo: String
    public var outputFile: String
    public var globalsOnly = true
    public var verbose = false
    public var noPassword = true

    public init(binaries: PostgresBinaries, conninfo: String, outputFile: String, globalsOnly: Bool = true,
                verbose: Bool = false, noPassword: Bool = true) {
        self.binaries = binaries
        self.conninfo = conninfo
        self.outputFile = outputFile
        self.globalsOnly = globalsOnly
        self.verbose = verbose
        self.noPassword = noPassword
    }

    public var command: ToolCommand {
        get throws(PostgresError) {
            var arguments = ["-d", try checkedConninfo(conninfo), "--file=\(outputFile)"]
            if globalsOnly { arguments.append("--globals-only") }
            if verbose { arguments.append("--verbose") }
            if noPassword { arguments.append("--no-password") }
            return ToolCommand(executable: binaries.path("pg_dumpall"), arguments: arguments)
        }
    }
}

/// `pg_restore` of a directory-format dump: into a database (`-d`), or as a SQL script to stdout.
public struct PgRestore: Sendable, Equatable {
    public var binaries: PostgresBinaries
    public var directory: String
    /// `-d`: restore into this database; nil writes a SQL script (`-f -`: stdout).
    public var conninfo: String?
    public var tables: [String] = []
    public var jobs: Int?
    public var extra: [String] = []

    public init(binaries: PostgresBinaries, directory: String, conninfo: String?, tables: [String] = [], jobs: Int? = nil, extra: [String] = []) {
        self.binaries = binaries
        self.directory = directory
        self.conninfo = conninfo
        self.tables = tables
        self.jobs = jobs
        self.extra = extra
    }

    public var command: ToolCommand {
        get throws(PostgresError) {
            var arguments: [String] = []
            if let conninfo {
                arguments += ["-d", try checkedConninfo(conninfo), "--no-password"]
                if let jobs { arguments.append("--jobs=\(jobs)") }
            } else {
                arguments += ["-f", "-"]
            }
            for table in tables { arguments += ["-t", table] }
            arguments += extra
            arguments.append(directory)
            return ToolCommand(executable: binaries.path("pg_restore"), arguments: arguments)
        }
    }
}
