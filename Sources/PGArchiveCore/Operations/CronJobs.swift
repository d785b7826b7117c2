import Foundation
import Logging
import Postgres

/// The last run of a cron job, kept in `run/cron_<job>.json` for status, check and metrics.
public struct CronRun: Codable, Sendable, Equatable {
    public enum Result: String, Codable, Sendable {
        case ok
        case failed
        /// Another pgarchive held the lock; the job did nothing (exit 75).
        case busy
    }
    public var job: String
    public var startedAt: Date
    public var finishedAt: Date
    public var result: Result
    public var message: String
    public var pid: Int32
}

extension Container {
    public static let cronJobs = ["expire-and-create-snapshot", "compress-wal", "maintenance", "watchdog", "dump", "verify"]

    public func cronLogFile(_ job: String) -> String { layout.logs + "/cron_\(job).log" }
    func cronRunFile(_ job: String) -> String { layout.run + "/cron_\(job).json" }

    public func lastCronRun(_ job: String) -> CronRun? {
        guard let data = FileManager.default.contents(atPath: cronRunFile(job)) else { return nil }
        return try? SnapshotStore.decoder.decode(CronRun.self, from: data)
    }

    /// Runs a cron job: logs to `logs/cron_<job>.log` (and warnings to stderr, which cron
    /// mails), records the outcome, and maps a held lock to exit 75 ("busy, try later").
    public func runCronJob(_ job: String, verbose: Bool, _ body: (Container) async throws -> String) async throws {
        let started = Date()
        let jobLogger = PGArchiveLogging.cronLogger(file: cronLogFile(job), verbose: verbose)
        let previous = logger
        logger = jobLogger
        defer { logger = previous }
        logger.info("cron \(job) started")
        do {
            let message = try await body(self)
            logger.info("cron \(job) finished: \(message)")
            let run = CronRun(job: job, startedAt: started, finishedAt: Date(), result: .ok, message: message, pid: getpid())
            record(run)
            // The last success is kept apart: metrics alert on its age even while runs fail.
            if let data = try? SnapshotStore.encoder.encode(run) { try? AtomicFile.write(data, to: layout.run + "/cron_\(job).last_success.json") }
        } catch let error as PGArchiveError where error.exitCode == PGArchiveError.temporaryFailureExitCode {
            logger.notice("cron \(job) skipped: \(error.message)")
            // A skipped run says nothing about the job's health: it must not hide a failure
            // that status, check and metrics still have to report.
            if lastCronRun(job)?.result != .failed {
                record(CronRun(job: job, startedAt: started, finishedAt: Date(), result: .busy, message: error.message, pid: getpid()))
            }
            throw error
        } catch {
            logger.error("cron \(job) failed: \(error)")
            record(CronRun(job: job, startedAt: started, finishedAt: Date(), result: .failed, message: "\(error)", pid: getpid()))
            throw error
        }
    }

    func record(_ run: CronRun) {
        if let data = try? SnapshotStore.encoder.encode(run) { try? AtomicFile.write(data, to: cronRunFile(run.job)) }
    }

    /// `cron expire-and-create-snapshot`: thin, expire (snapshots, then WAL), then snapshot.
    public func expireAndCreateSnapshot() async throws -> String {
        let thinPlan = try await retentionPlan(thin: true)
        try apply(thinPlan)
        let expirePlan = try await retentionPlan(thin: false)
        try apply(expirePlan)
        let snapshot = try await createSnapshot(force: false)
        return "thinned \(thinPlan.snapshots.count), expired \(expirePlan.snapshots.count) snapshots and \(expirePlan.wal.count) WAL segments; newest snapshot \(snapshot.name)"
    }

    /// `cron maintenance`: the operator's opt-in btrfs housekeeping. Defragmenting `standby/`
    /// un-shares its extents with the snapshots, so it can grow space use: off by default.
    public func maintenance() async throws -> String {
        var done: [String] = []
        let words = config.maintenanceCommand.split(separator: " ").map(String.init)
        if let executable = words.first {
            let command = ToolCommand(executable: executable, arguments: Array(words.dropFirst()) + [layout.standby])
            logger.info("running maintenance_command: \(command)")
            let output = try await command.runChecked()
            for line in (output.standardOutput + output.standardError).split(separator: "\n").prefix(50) { logger.info("  \(line)") }
            done.append("ran maintenance_command")
        } else {
            logger.info("maintenance_command is empty: no defragmentation (see MANUAL.md for the trade-off)")
        }
        let scrub = try await ToolCommand(executable: "btrfs", arguments: ["scrub", "status", layout.root]).run()
        if scrub.succeeded {
            for line in scrub.standardOutput.split(separator: "\n") { logger.info("scrub: \(line)") }
            done.append("read scrub status")
        } else {
            logger.notice("btrfs scrub status is not available to this user (\(scrub.standardError.split(separator: "\n").first ?? "")); run it as root")
        }
        return done.isEmpty ? "nothing configured" : done.joined(separator: ", ")
    }
}

extension PGArchiveLogging {
    /// Cron jobs log everything to their file and only warnings and errors to stderr
    /// (cron mails stderr), unless verbose.
    public static func cronLogger(file: String, verbose: Bool) -> Logger {
        let fileSink = try? FileHandleSink.appending(to: file)
        return Logger(label: "pgarchive") { label in
            var handlers: [any LogHandler] = [TimestampedLogHandler(label: label, level: verbose ? .debug : .warning, sinks: [.standardError])]
            if let fileSink { handlers.append(TimestampedLogHandler(label: label, level: verbose ? .debug : .info, sinks: [fileSink])) }
            return MultiplexLogHandler(handlers)
        }
    }
}
