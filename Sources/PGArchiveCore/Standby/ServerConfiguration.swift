import Foundation

/// The settings pgarchive writes into a data directory it runs a server from: the
/// standby (and, later, clones). The file replaces the upstream's postgresql.conf,
/// which pg_basebackup copied when it lived in the data directory (it is kept as
/// `postgresql.conf.upstream` for reference), so nothing of the upstream's network, SSL or
/// archiving set-up leaks into the archive.
public struct ServerConfiguration: Sendable, Equatable {
    public var port: Int
    public var socketDirectory: String
    /// Shell command PostgreSQL runs to get a WAL file (`%f` name, `%p` destination).
    public var restoreCommand: String
    /// Settings a hot standby must have at least as high as the upstream
    /// (max_connections, max_worker_processes, …), copied from the upstream.
    public var upstreamSettings: [String: String]
    public var extra: [(String, String)] = []
    /// `''` for the standby (socket only); clones: `clone_listen_addresses` (default localhost).
    public var listenAddresses = ""
    /// The standby logs from `warning` up: PostgreSQL 15 logs "waiting for WAL to become
    /// available" at every restore_command retry (every second), which would grow its log by
    /// ~86 000 lines a day. Clones keep PostgreSQL's default: their recovery messages matter.
    public var logMinMessages: String?
    /// The cluster's WAL segment size, when known: PostgreSQL refuses to start unless
    /// min_wal_size and max_wal_size are at least two segments (`walSizeSettings`).
    public var walSegmentSize: UInt64?

    public init(port: Int, socketDirectory: String, restoreCommand: String, upstreamSettings: [String: String]) {
        self.port = port
        self.socketDirectory = socketDirectory
        self.restoreCommand = restoreCommand
        self.upstreamSettings = upstreamSettings
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.port == b.port && a.listenAddresses == b.listenAddresses && a.socketDirectory == b.socketDirectory && a.restoreCommand == b.restoreCommand
            && a.upstreamSettings == b.upstreamSettings && a.extra.map { $0.0 + "=" + $0.1 } == b.extra.map { $0.0 + "=" + $0.1 }
    }

    /// The upstream settings a hot standby must match or exceed.
    public static let hotStandbyParameters = [
        "max_connections", "max_worker_processes", "max_wal_senders",
        "max_prepared_transactions", "max_locks_per_transaction",
    ]

    public func rendered() -> String {
        var lines = [
            "# Written by pgarchive; it is rewritten on every start, edit pgarchive.conf instead.",
            "port = \(port)",
            "listen_addresses = \(ConfigFile.quote(listenAddresses))",
            "unix_socket_directories = \(ConfigFile.quote(socketDirectory))",
            "unix_socket_permissions = 0700",
            "hot_standby = on",
            "restore_command = \(ConfigFile.quote(restoreCommand))",
            "wal_retrieve_retry_interval = '1s'",
            "archive_mode = off",
            "logging_collector = off",
            "log_line_prefix = '%m [%p] '",
            "log_checkpoints = on",
        ]
        for key in upstreamSettings.keys.sorted() {
            lines.append("\(key) = \(ConfigFile.quote(upstreamSettings[key]!))")
        }
        if let logMinMessages { lines.append("log_min_messages = \(ConfigFile.quote(logMinMessages))") }
        for (key, value) in Self.walSizeSettings(segmentSize: walSegmentSize) { lines.append("\(key) = \(ConfigFile.quote(value))") }
        for (key, value) in extra { lines.append("\(key) = \(ConfigFile.quote(value))") }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The standby's: local connections only, through a socket in a 0700 directory that only
    /// the service user can reach: so trust is safe, and no password is ever needed or stored.
    /// Clones get `CloneAccess.hbaFile` instead.
    public static let hbaFile = """
        # Written by pgarchive: the socket lives in the container's 0700 run/ directory.
        local   all             all                                     trust
        local   replication     all                                     trust

        """

    /// `restore_command` that calls this pgarchive binary's `wal fetch`, shell-quoted.
    public static func restoreCommand(pgarchiveExecutable: String, container: String, partialOK: Bool) -> String {
        var words = [shellQuote(pgarchiveExecutable), "wal", "fetch", "-C", shellQuote(container)]
        if partialOK { words.append("--partial-ok") }
        words += ["%f", "%p"]
        return words.joined(separator: " ")
    }

    /// Single-quotes a word for the shell PostgreSQL runs restore_command with.
    public static func shellQuote(_ word: String) -> String {
        "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
