import Foundation

/// `initdb`: a new cluster (tests' throwaway upstreams).
public struct Initdb: Sendable, Equatable {
    public var binaries: PostgresBinaries
    public var pgdata: String
    /// `--auth`: the method for local and host connections, e.g. `trust` for a test cluster
    /// reachable only through its private socket directory.
    public var authMethod: String?
    /// `--username` of the bootstrap superuser (default: the operating system user).
    public var superuser: String?
    /// `--encoding`.
    public var encoding: String? = "UTF8"
    /// `--locale`.
    public var locale: String?
    /// `--data-checksums`.
    public var dataChecksums = false
    /// `--wal-segsize` in MB (a power of two, 1–1024).
    public var walSegmentSizeMB: Int?
    /// `--no-sync`: skip fsync (tests only: a crash can corrupt the new cluster).
    public var noSync = false

    public init(binaries: PostgresBinaries, pgdata: String, authMethod: String? = nil, superuser: String? = nil,
                encoding: String? = "UTF8", locale: String? = nil, dataChecksums: Bool = false,
                walSegmentSizeMB: Int? = nil, noSync: Bool = false) {
        self.binaries = binaries
        self.pgdata = pgdata
        self.authMethod = authMethod
        self.superuser = superuser
        self.encoding = encoding
        self.locale = locale
        self.dataChecksums = dataChecksums
        self.walSegmentSizeMB = walSegmentSizeMB
        self.noSync = noSync
    }

    public var command: ToolCommand {
        var arguments = ["-D", pgdata]
        if let authMethod { arguments.append("--auth=\(authMethod)") }
        if let superuser { arguments.append("--username=\(superuser)") }
        if let encoding { arguments.append("--encoding=\(encoding)") }
        if let locale { arguments.append("--locale=\(locale)") }
        if dataChecksums { arguments.append("--data-checksums") }
        if let walSegmentSizeMB { arguments.append("--wal-segsize=\(walSegmentSizeMB)") }
        if noSync { arguments.append("--no-sync") }
        return ToolCommand(executable: binaries.path("initdb"), arguments: arguments)
    }
}

/// `pg_controldata`, run in the C locale and UTC so `ControlData` can parse its output.
public struct PgControlData: Sendable, Equatable {
    public var binaries: PostgresBinaries
    public var dataDirectory: String

    public init(binaries: PostgresBinaries, dataDirectory: String) {
        self.binaries = binaries
        self.dataDirectory = dataDirectory
    }

    public var command: ToolCommand {
        // LC_ALL=C fixes the labels (they are translated otherwise) and the date format;
        // TZ=UTC makes the times, which carry no zone, UTC.
        ToolCommand(executable: binaries.path("pg_controldata"), arguments: ["-D", dataDirectory],
                    environment: ["LC_ALL": "C", "TZ": "UTC"])
    }
}

/// `pg_isready`: whether a server accepts connections (exit 0), rejects them (1, e.g. still
/// starting), does not answer (2) or was not asked (3, bad parameters).
public struct PgIsReady: Sendable, Equatable {
    public var binaries: PostgresBinaries
    public var conninfo: String
    /// `--timeout` in seconds (pg_isready's default is 3).
    public var timeout: Int?
    public var quiet = true

    public init(binaries: PostgresBinaries, conninfo: String, timeout: Int? = nil, quiet: Bool = true) {
        self.binaries = binaries
        self.conninfo = conninfo
        self.timeout = timeout
        self.quiet = quiet
    }

    public var command: ToolCommand {
        get throws(PostgresError) {
            var arguments = ["-d", try checkedConninfo(conninfo)]
            if let timeout { arguments.append("--timeout=\(timeout)") }
            if quiet { arguments.append("--quiet") }
            return ToolCommand(executable: binaries.path("pg_isready"), arguments: arguments)
        }
    }
}
