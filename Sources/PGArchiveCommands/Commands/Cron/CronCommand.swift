import ArgumentParser
import Foundation
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
}

/// Opens the container and runs `body` as cron job `job`, under `lock` if given.
func runCron(_ job: String, _ options: CronJobOptions, lock kind: ContainerLock.Kind?,
             _ body: @escaping (Container) async throws -> String) async throws {
    let container = try options.container.open()
    try await container.runCronJob(job, verbose: options.container.verbose) { container in
        var lock: ContainerLock?
        if let kind { lock = try container.lock(kind, command: "cron \(job)", wait: !options.noWait) }
        defer { _ = lock }
        return try await body(container)
    }
}

struct CronExpireAndCreateSnapshotCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "expire-and-create-snapshot",
        abstract: "Thin and expire snapshots (then the WAL no kept snapshot needs), then take a new snapshot.",
        discussion: "Examples:\n  pgarchive cron expire-and-create-snapshot --no-wait")
    @OptionGroup var options: CronJobOptions

    func run() async throws {
        try await runCron("expire-and-create-snapshot", options, lock: .snapshots) { try await $0.expireAndCreateSnapshot() }
    }
}

struct CronWatchdogCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watchdog",
        abstract: "Restart a dead pg_receivewal or standby; report one that is stuck.",
        discussion: "Examples:\n  pgarchive cron watchdog --no-wait")
    @OptionGroup var options: CronJobOptions

    func run() async throws {
        try await runCron("watchdog", options, lock: .container) { try await $0.watchdog() }
    }
}

struct CronMaintenanceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "maintenance",
        abstract: "Opt-in btrfs housekeeping: maintenance_command on standby/ (e.g. defragment), scrub status.",
        discussion: "Examples:\n  pgarchive cron maintenance --no-wait")
    @OptionGroup var options: CronJobOptions

    func run() async throws {
        try await runCron("maintenance", options, lock: .container) { try await $0.maintenance() }
    }
}

struct CronCompressWALCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compress-wal",
        abstract: "Compress completed WAL segments (wal_compression); safe beside wal fetch, so no lock.",
        discussion: "Examples:\n  pgarchive cron compress-wal --no-wait")
    @OptionGroup var options: CronJobOptions

    func run() async throws {
        try await runCron("compress-wal", options, lock: nil) { container in
            let report = try container.compressWAL(logger: container.logger)
            if !report.failures.isEmpty { throw PGArchiveError(report.summary) }
            return report.summary
        }
    }
}
