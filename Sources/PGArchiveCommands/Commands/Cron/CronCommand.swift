import ArgumentParser
import PGArchiveCore

struct CronCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cron",
        abstract: "Jobs for cron: snapshots and expiry, WAL compression, watchdog, maintenance, dumps, verification.",
        discussion: "Each job logs to logs/cron_<job>.log (warnings and errors also to stderr, which cron mails) and records its last run for `container status`. With --no-wait a job exits 75 when another pgarchive holds its lock. `pgarchive container initcron` installs them.\n\nExamples:\n  pgarchive cron watchdog --no-wait\n  pgarchive container initcron --enable",
        subcommands: [CronExpireAndCreateSnapshotCommand.self, CronCompressWALCommand.self, CronWatchdogCommand.self, CronMaintenanceCommand.self, CronDumpCommand.self, CronVerifyCommand.self]
    )
}

/// Options of every cron job.
struct CronJobOptions: ParsableArguments {
    @OptionGroup var container: ContainerOptions
    @Flag(name: .customLong("no-wait"), help: "Exit 75 at once when another pgarchive holds the lock (what cron should use).")
    var noWait = false

    /// Runs `operation` as its cron job (ContainerOperation.runCron): its log, its recorded
    /// result and the lock the command table declares.
    func run(_ operation: ContainerOperation, _ work: (Container) async throws -> String) async throws {
        try container.startup()
        try await operation.runCron(container: try container.containerPath(), verbose: container.verbose, wait: !noWait, work)
    }
}
