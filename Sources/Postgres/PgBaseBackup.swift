import Foundation

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
