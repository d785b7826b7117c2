import Foundation
import Logging
import Postgres

/// The warm standby in `standby/`: a hot standby without TCP, its socket in `run/`,
/// replaying complete segments from `wal_archive/` through `pgarchive wal fetch`.
/// It never connects to the upstream, so the upstream sees only pg_receivewal.
public struct Standby: Sendable {
    public let layout: ContainerLayout
    public let config: ContainerConfig

    public init(container: Container) {
        layout = container.layout
        config = container.config
    }

    var dataDirectory: String { layout.standby }
    var upstreamSettingsFile: String { dataDirectory + "/pgarchive.upstream.conf" }

    public func state() -> DaemonState {
        Processes.postmasterState(dataDirectory: dataDirectory)
    }

    public var exists: Bool { FileManager.default.fileExists(atPath: dataDirectory + "/PG_VERSION") }

    /// Turns a fresh base backup into a standby: keeps the upstream's configuration files
    /// aside, writes pgarchive's own, and creates standby.signal. `backup_label` stays.
    public func prepareBaseBackup(upstreamSettings: [String: String]) throws {
        // First of all: from here on standby/ holds a configuration, and a server started on
        // it without standby.signal would end recovery and run as a primary.
        try AtomicFile.write("", to: dataDirectory + "/standby.signal")
        let fm = FileManager.default
        for file in ["postgresql.conf", "postgresql.auto.conf", "pg_hba.conf", "pg_ident.conf"] {
            let path = dataDirectory + "/" + file
            if fm.fileExists(atPath: path) {
                try? fm.removeItem(atPath: path + ".upstream")
                try fm.moveItem(atPath: path, toPath: path + ".upstream")
            }
        }
        var settings = ""
        for key in upstreamSettings.keys.sorted() { settings += "\(key) = \(ConfigFile.quote(upstreamSettings[key]!))\n" }
        try AtomicFile.write("# The upstream's settings a hot standby must at least match (pgarchive).\n" + settings, to: upstreamSettingsFile)
        try AtomicFile.write("# ALTER SYSTEM settings are not used by the pgarchive standby.\n", to: dataDirectory + "/postgresql.auto.conf")
        try writeConfiguration()
    }

    /// (Re)writes postgresql.conf, pg_hba.conf and pg_ident.conf. Done on every start, so
    /// the restore_command always names the pgarchive binary that is running now.
    public func writeConfiguration() throws {
        var upstream: [String: String] = [:]
        if let text = try? String(contentsOfFile: upstreamSettingsFile, encoding: .utf8) {
            for entry in try ConfigFile.parse(text, file: upstreamSettingsFile) { upstream[entry.key] = entry.value }
        }
        var conf = ServerConfiguration(
            port: config.standbyPort, socketDirectory: layout.standbySocketDirectory,
            restoreCommand: ServerConfiguration.restoreCommand(pgarchiveExecutable: SelfExecutable.path,
                                                               container: layout.root, partialOK: false),
            upstreamSettings: upstream)
        conf.logMinMessages = "warning"
        conf.walSegmentSize = ServerConfiguration.walSegmentSize(dataDirectory: dataDirectory)
        try AtomicFile.write(conf.rendered(), to: dataDirectory + "/postgresql.conf")
        try AtomicFile.write(ServerConfiguration.hbaFile, to: dataDirectory + "/pg_hba.conf")
        try AtomicFile.write("", to: dataDirectory + "/pg_ident.conf")
    }

    public func pgCtl(_ action: PgCtl.Action, binaries: PostgresBinaries, extra: [String] = []) -> ToolCommand {
        var command = PgCtl(binaries: binaries, action: action, dataDirectory: dataDirectory,
                            logFile: action == .start || action == .restart ? layout.standbyLog : nil,
                            wait: action == .start ? false : nil).command
        command.arguments.insert(contentsOf: extra, at: command.arguments.count - 1)
        return command
    }

    /// Starts the standby and waits until it accepts read-only connections (it does once
    /// it has replayed to a consistent point). Reads success from the server, not pg_ctl.
    public func start(binaries: PostgresBinaries, logger: Logger, timeout: TimeInterval = 600) async throws {
        if case .running(let pid) = state() {
            logger.info("the standby is already running (pid \(pid))")
            return
        }
        try requireStandbySignal()
        if case .stalePIDFile(let old) = state(), !Processes.clearStalePostmasterPID(dataDirectory: dataDirectory, logger: logger) {
            throw PGArchiveError("the standby's old postmaster (pid \(old)) has not gone away; PostgreSQL will not start while it exists")
        }
        try writeConfiguration()
        let logStart = LogFile.size(layout.standbyLog)
        try await pgCtl(.start, binaries: binaries).runChecked()
        logger.info("starting the standby (port \(config.standbyPort), socket in \(layout.standbySocketDirectory)); waiting until it replays")
        try await waitUntilReplaying(logStart: logStart, logger: logger, timeout: timeout)
    }

    /// Polls until the standby answers queries, failing early if the postmaster died.
    public func waitUntilReplaying(logStart: UInt64, logger: Logger, timeout: TimeInterval) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        var lastNote = Date()
        let started = Date()
        while Date() < deadline {
            let current = state()
            // pg_ctl -W returns once the postmaster is forked; it writes postmaster.pid at once.
            if !current.isRunning && Date().timeIntervalSince(started) > 3 {
                throw PGArchiveError("the standby stopped while starting; \(layout.standbyLog) says:\n" + LogFile.tail(layout.standbyLog, from: logStart, lines: 12))
            }
            if current.isRunning, let connection = try? Connection(conninfo: standbyConninfo, connectTimeout: 3) {
                defer { connection.close() }
                let replayed = try? connection.lastReplayLSN()
                logger.info("the standby is replaying (at \(replayed.map { "\($0)" } ?? "?"))")
                return
            }
            try Interruption.check()
            if Date().timeIntervalSince(lastNote) > 15 {
                logger.info("still waiting for the standby to reach a consistent state (it needs the WAL up to the end of its base backup in \(layout.walArchive))")
                lastNote = Date()
            }
            try await Task.sleep(for: .milliseconds(300))
        }
        throw PGArchiveError("the standby did not become ready within \(Int(timeout)) s; see \(layout.standbyLog):\n" + LogFile.tail(layout.standbyLog, from: logStart, lines: 12))
    }

    var standbyConninfo: String {
        Conninfo([("host", layout.standbySocketDirectory), ("port", String(config.standbyPort)),
                  ("dbname", "postgres"), ("user", config.standbyUser)]).rendered
    }

    /// Stops the standby (fast shutdown: a restartpoint, then exit).
    public func stop(binaries: PostgresBinaries, logger: Logger, mode: PgCtl.ShutdownMode = .fast) async throws {
        guard case .running(let pid) = state() else {
            logger.info("the standby is not running")
            return
        }
        try await PgCtl(binaries: binaries, action: .stop, dataDirectory: dataDirectory, logFile: nil,
                        wait: true, timeout: 120, mode: mode).command.runChecked()
        logger.info("stopped the standby (pid \(pid))")
    }
}
