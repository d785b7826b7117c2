import Foundation

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
            // PostgreSQL 15 release notes: "Allow pg_receivewal to use LZ4 compression" and the
            // new --compress=METHOD[:DETAIL] syntax; 14 and older take a bare gzip level.
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
