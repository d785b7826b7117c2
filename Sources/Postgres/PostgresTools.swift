import Foundation

// The PostgreSQL programs pgarchive runs, as values whose `command` is the exact argv.
//
// Connection strings are passed with `-d`, i.e. on the command line, where `ps` shows them
// to every user: every builder that takes one refuses a connection string that carries a
// password (invariant 7). Passwords come from ~/.pgpass, PGPASSFILE or the environment.

/// Checks a connection string before it goes on a command line.
private func checkedConninfo(_ conninfo: String) throws(PostgresError) -> String {
    try Conninfo(conninfo).requireNoPassword()
    return conninfo
}

/// `pg_basebackup`: copies a running cluster into `pgdata` (container init and resync).
public struct PgBaseBackup: Sendable, Equatable {
    /// `--wal-method`: how the WAL needed to make the copy consistent is included.
    public enum WALMethod: String, Sendable {
        /// Include no WAL: the copy needs the archive to become consistent.
        case none
        /// Collect WAL at the end of the backup (the server must keep it meanwhile).
        case fetch
        /// Stream WAL over a second connection during the backup.
        case stream
    }

    /// `--checkpoint`: `fast` starts at once, `spread` waits for a spread checkpoint.
    public enum CheckpointMode: String, Sendable {
        case fast
        case spread
    }

    public var binaries: PostgresBinaries
    /// The target data directory (`-D`); must be empty or absent.
    public var pgdata: String
    public var conninfo: String
    public var walMethod: WALMethod = .stream
    /// `--slot`: stream WAL through this replication slot, so the upstream keeps the WAL
    /// until pg_receivewal takes over. Only with `walMethod == .stream`.
    public var slot: String?
    public var checkpoint: CheckpointMode = .fast
    /// `--write-recovery-conf`: writes standby.signal and primary_conninfo.
    public var writeRecoveryConf = false
    /// `--label`, shown in the backup_label file.
    public var label: String?
    /// `--waldir`: put pg_wal elsewhere (a symlink in the data directory).
    public var waldir: String?
    public var progress = false
    public var verbose = false
    /// `--no-password`: never prompt; fail when a password is needed and not in ~/.pgpass.
    public var noPassword = true
    /// `--tablespace-mapping=OLD=NEW` for each entry (absolute paths): where each tablespace
    /// of the source goes instead of its own absolute path.
    public var tablespaceMappings: [TablespaceMapping] = []

    /// One `--tablespace-mapping`: the source's tablespace directory and where to put it.
    public struct TablespaceMapping: Sendable, Equatable {
        public var old: String
        public var new: String
        public init(old: String, new: String) {
            self.old = old
            self.new = new
        }

        /// `OLD=NEW` with each `=` in either path escaped as `\=`, as pg_basebackup parses it.
        public var argument: String {
            func escaped(_ path: String) -> String { path.replacingOccurrences(of: "=", with: "\\=") }
            return "--tablespace-mapping=\(escaped(old))=\(escaped(new))"
        }
    }

    public init(binaries: PostgresBinaries, pgdata: String, conninfo: String,
                walMethod: WALMethod = .stream, slot: String? = nil, checkpoint: CheckpointMode = .fast,
                writeRecoveryConf: Bool = false, label: String? = nil, waldir: String? = nil,
                progress: Bool = false, verbose: Bool = false, noPassword: Bool = true) {
        self.binaries = binaries
        self.pgdata = pgdata
        self.conninfo = conninfo
        self.walMethod = walMethod
        self.slot = slot
        self.checkpoint = checkpoint
        self.writeRecoveryConf = writeRecoveryConf
        self.label = label
        self.waldir = waldir
        self.progress = progress
        self.verbose = verbose
        self.noPassword = noPassword
    }

    public var command: ToolCommand {
        get throws(PostgresError) {
            var arguments = ["-D", pgdata, "-d", try checkedConninfo(conninfo),
                             "--wal-method=\(walMethod.rawValue)"]
            if let slot {
                guard walMethod == .stream else {
                    throw .invalidInput("pg_basebackup can use replication slot '\(slot)' only with --wal-method=stream")
                }
                try ReplicationSlot.validateName(slot)
                arguments.append("--slot=\(slot)")
            }
            arguments.append("--checkpoint=\(checkpoint.rawValue)")
            if writeRecoveryConf { arguments.append("--write-recovery-conf") }
            if let label { arguments.append("--label=\(label)") }
            if let waldir { arguments.append("--waldir=\(waldir)") }
            if progress { arguments.append("--progress") }
            if verbose { arguments.append("--verbose") }
            if noPassword { arguments.append("--no-password") }
            for mapping in tablespaceMappings {
                guard mapping.old.hasPrefix("/") && mapping.new.hasPrefix("/") else {
                    throw .invalidInput("--tablespace-mapping needs absolute paths, not '\(mapping.old)' = '\(mapping.new)'")
                }
                arguments.append(mapping.argument)
            }
            return ToolCommand(executable: binaries.path("pg_basebackup"), arguments: arguments)
        }
    }
}

/// `pg_receivewal`: streams the upstream's WAL into the archive directory, through a slot.
public struct PgReceiveWAL: Sendable, Equatable {
    /// `--compress` (PostgreSQL 15 writes `.gz` or `.lz4` files; before 15 only gzip).
    public enum Compression: Sendable, Equatable {
        case gzip(level: Int? = nil)
        case lz4(level: Int? = nil)
    }

    public var binaries: PostgresBinaries
    /// `--directory`: where segments are written (the container's `wal_archive/`).
    public var directory: String
    public var conninfo: String
    /// `--slot`: without a slot the upstream may remove WAL pg_receivewal has not received yet.
    public var slot: String?
    public var compression: Compression?
    /// `--synchronous`: flush every write and report it at once, so a synchronous_standby_names
    /// entry for pgarchive can make upstream commits wait for the archive.
    public var synchronous = false
    /// `--no-loop`: exit on a connection error instead of retrying (the cron watchdog restarts it).
    public var noLoop = false
    /// `--status-interval` in seconds (default 10).
    public var statusInterval: Int?
    public var verbose = false
    public var noPassword = true

    public init(binaries: PostgresBinaries, directory: String, conninfo: String, slot: String? = nil,
                compression: Compression? = nil, synchronous: Bool = false, noLoop: Bool = false,
                statusInterval: Int? = nil, verbose: Bool = false, noPassword: Bool = true) {
        self.binaries = binaries
        self.directory = directory
        self.conninfo = conninfo
        self.slot = slot
        self.compression = compression
        self.synchronous = synchronous
        self.noLoop = noLoop
        self.statusInterval = statusInterval
        self.verbose = verbose
        self.noPassword = noPassword
    }

    public var command: ToolCommand {
        get throws(PostgresError) {
            var arguments = ["-d", try checkedConninfo(conninfo), "--directory=\(directory)"]
            if let slot {
                try ReplicationSlot.validateName(slot)
                arguments.append("--slot=\(slot)")
            }
            if let compression { arguments.append("--compress=\(try compressArgument(compression))") }
            if synchronous { arguments.append("--synchronous") }
            if noLoop { arguments.append("--no-loop") }
            if let statusInterval { arguments.append("--status-interval=\(statusInterval)") }
            if verbose { arguments.append("--verbose") }
            if noPassword { arguments.append("--no-password") }
            return ToolCommand(executable: binaries.path("pg_receivewal"), arguments: arguments)
        }
    }

    private func compressArgument(_ compression: Compression) throws(PostgresError) -> String {
        switch compression {
        case .gzip(let level):
            if binaries.majorVersion < 15 { return String(level ?? 5) }
            return level.map { "gzip:\($0)" } ?? "gzip"
        case .lz4(let level):
            guard binaries.majorVersion >= 15 else {
                throw .invalidInput("pg_receivewal \(binaries.majorVersion) cannot compress with lz4 (PostgreSQL 15 or later can); use gzip or none")
            }
            return level.map { "lz4:\($0)" } ?? "lz4"
        }
    }
}

/// `pg_ctl`: starts, stops, reloads and promotes the standby and clones.
///
/// Note that `pg_ctl -w start` exits 0 even when recovery then fails; read the result from
/// the server log, pg_control or `pg_is_in_recovery()`.
public struct PgCtl: Sendable, Equatable {
    public enum Action: String, Sendable {
        case start, stop, restart, reload, promote, status
    }

    /// `-m`: `smart` waits for clients, `fast` disconnects them, `immediate` aborts (crash
    /// recovery on the next start).
    public enum ShutdownMode: String, Sendable {
        case smart, fast, immediate
    }

    public var binaries: PostgresBinaries
    public var action: Action
    public var dataDirectory: String
    /// `-l`: the server's log file (start/restart).
    public var logFile: String?
    /// Arguments for `postgres` (start/restart), e.g. `["-c", "port=5433"]`. pg_ctl passes
    /// `-o` through `/bin/sh`, so each argument is quoted for the shell here.
    public var serverOptions: [String] = []
    /// `true`: `-w` (wait for the action to finish), `false`: `-W`, `nil`: pg_ctl's default.
    public var wait: Bool?
    /// `-t`: seconds to wait.
    public var timeout: Int?
    /// `-m` for stop/restart.
    public var mode: ShutdownMode?

    public init(binaries: PostgresBinaries, action: Action, dataDirectory: String, logFile: String? = nil,
                serverOptions: [String] = [], wait: Bool? = nil, timeout: Int? = nil, mode: ShutdownMode? = nil) {
        self.binaries = binaries
        self.action = action
        self.dataDirectory = dataDirectory
        self.logFile = logFile
        self.serverOptions = serverOptions
        self.wait = wait
        self.timeout = timeout
        self.mode = mode
    }

    public var command: ToolCommand {
        var arguments = ["-D", dataDirectory]
        if let logFile { arguments += ["-l", logFile] }
        if !serverOptions.isEmpty {
            arguments += ["-o", serverOptions.map(shellQuote).joined(separator: " ")]
        }
        if let wait { arguments.append(wait ? "-w" : "-W") }
        if let timeout { arguments += ["-t", String(timeout)] }
        if let mode { arguments += ["-m", mode.rawValue] }
        arguments.append(action.rawValue)
        return ToolCommand(executable: binaries.path("pg_ctl"), arguments: arguments)
    }
}

/// Quotes one word for `/bin/sh` (only for pg_ctl's `-o`, which pg_ctl hands to a shell).
func shellQuote(_ word: String) -> String {
    let safe = !word.isEmpty && word.unicodeScalars.allSatisfy { scalar in
        switch scalar {
        case "a"..."z", "A"..."Z", "0"..."9", "-", "_", ".", "/", "=", ":", ",", "@", "+", "%": true
        default: false
        }
    }
    return safe ? word : "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
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
