import Foundation
import Postgres

/// The tools pgarchive hands the terminal to: tail for logs, psql on the upstream or a
/// clone, pg_ctl on the standby, pg_restore or an operator's command on a dump run. Each
/// builds the tool's argv (never a shell string) and returns the tool's exit code, which
/// the command line passes on.
public enum LogView {
    /// Shows the last `lines` lines of a log; with `follow`, hands over to `tail -F`.
    public static func show(_ path: String, lines: Int, follow: Bool) async throws -> Int32 {
        guard FileManager.default.fileExists(atPath: path) else {
            throw PGArchiveError("no log yet at \(path)")
        }
        return try await tail(path, lines: lines, follow: follow).runInteractive()
    }

    /// `tail -n LINES [-F] -- PATH`.
    public static func tail(_ path: String, lines: Int, follow: Bool) -> ToolCommand {
        ToolCommand(executable: "tail", arguments: ["-n", String(lines)] + (follow ? ["-F"] : []) + ["--", path])
    }

    /// `tail -n 5 -F -- LOG…`: every log of `container monitor` at once.
    public static func follow(_ logs: [String]) -> ToolCommand {
        ToolCommand(executable: "tail", arguments: ["-n", "5", "-F", "--"] + logs)
    }
}

/// The pg_ctl actions `pgarchive standby ACTION` passes through (start has its own path:
/// `Standby.start` waits until the standby replays).
public enum StandbyControlAction: String, Sendable {
    case stop, status, reload, restart
}

extension Container {
    /// `clone log`: the clone's server log.
    public func showCloneLog(_ name: String, lines: Int, follow: Bool) async throws -> Int32 {
        _ = try clones.get(name)
        return try await LogView.show(clones.logFile(name), lines: lines, follow: follow)
    }

    /// `container monitor`: follows every current log (Dashboard.currentLogs).
    public func monitorLogs() async throws -> Int32 {
        let logs = Dashboard.currentLogs(self)
        guard !logs.isEmpty else { throw PGArchiveError("no logs yet in \(layout.logs)") }
        return try await LogView.follow(logs).runInteractive()
    }

    /// `container upstream`: psql on the upstream's conninfo, `arguments` appended.
    public func psqlOnUpstream(arguments: [String]) async throws -> Int32 {
        var command = try Psql(binaries: try await binaries(), conninfo: config.upstream, onErrorStop: false).command
        command.arguments += arguments
        return try await command.runInteractive()
    }

    /// `clone psql`: psql on the clone through its socket in run/, as the service user.
    public func psqlOnClone(_ name: String, arguments: [String]) async throws -> Int32 {
        let clone = try clones.get(name)
        let binaries = try await binaries()
        let conninfo = cloneConninfo(clone) // quoted: a path or role with spaces stays one value
        var command = try Psql(binaries: binaries, conninfo: conninfo, onErrorStop: false).command
        command.arguments += arguments
        return try await command.runInteractive()
    }

    /// `standby stop|status|reload|restart`: pg_ctl on standby/ with `extra` passed through.
    /// A restart first checks standby.signal and rewrites the standby's settings, as start does.
    public func controlStandby(_ action: StandbyControlAction, extra: [String]) async throws -> Int32 {
        let binaries = try await binaries()
        if action == .restart {
            try standby.requireStandbySignal()
            try standby.writeConfiguration()
        }
        let pgCtlAction: PgCtl.Action
        switch action {
        case .stop: pgCtlAction = .stop
        case .status: pgCtlAction = .status
        case .reload: pgCtlAction = .reload
        case .restart: pgCtlAction = .restart
        }
        return try await standby.pgCtl(pgCtlAction, binaries: binaries, extra: extra).runInteractive()
    }

    /// `dump extract`: the newest run of `database` at or before `time` as SQL on stdout
    /// (pg_restore -f -), its globals.sql, or `command` run with the run's directory appended.
    public func extractDump(_ database: String, at time: Date?, globals: Bool, command words: [String]) async throws -> Int32 {
        let (run, directory) = try dumpRun(database, at: time)
        logger.info("using dump \(run.name) of database '\(run.database)' (source \(run.source))")
        let tool = try await Self.dumpExtractTool(directory: directory, globals: globals, command: words) {
            try PgRestore(binaries: try await binaries(), directory: directory, conninfo: nil).command
        }
        return try await tool.runInteractive()
    }

    /// The argv of `dump extract` for the run in `directory`: `cat` of its globals.sql, the
    /// operator's command with the directory appended, or `plainSQL` (pg_restore -f -).
    public static func dumpExtractTool(directory: String, globals: Bool, command words: [String],
                                       plainSQL: () async throws -> ToolCommand) async throws -> ToolCommand {
        if globals {
            guard words.isEmpty else { throw PGArchiveError("--globals takes no command") }
            return ToolCommand(executable: "cat", arguments: ["--", directory + "/" + DumpStore.globalsFile])
        }
        if let executable = words.first {
            return ToolCommand(executable: executable, arguments: Array(words.dropFirst()) + [directory])
        }
        return try await plainSQL()
    }

    /// `dump restore`: pg_restore of the run (or `tables` of it) into the database `conninfo`
    /// names; fails when pg_restore does.
    public func restoreDump(_ database: String, at time: Date?, into conninfo: String, tables: [String], jobs: Int?,
                            extra: [String]) async throws {
        let (run, directory) = try dumpRun(database, at: time)
        let command = try PgRestore(binaries: try await binaries(), directory: directory, conninfo: conninfo,
                                    tables: tables, jobs: jobs ?? config.dumpJobs, extra: extra).command
        logger.info("restoring dump \(run.name) of database '\(run.database)'\(tables.isEmpty ? "" : " (tables \(tables.joined(separator: ", ")))")")
        let code = try await command.runInteractive()
        if code != 0 { throw PGArchiveError("pg_restore exited with code \(code); see its messages above") }
    }
}
