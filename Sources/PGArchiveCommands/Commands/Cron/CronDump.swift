import ArgumentParser
import Foundation
import PGArchiveCore

struct CronDumpCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dump",
        abstract: "Dump every database from a temporary clone of the newest snapshot, then expire old runs (dump_keep).",
        discussion: "Takes only the dumps lock, so snapshots and clones continue meanwhile.\n\nExamples:\n  pgarchive cron dump --no-wait")
    @OptionGroup var options: CronJobOptions
    @Option(help: "Parallel pg_dump jobs per database (default: dump_jobs, 2).") var jobs: Int?

    func run() async throws {
        try await options.run(.cronDump) { try await $0.cronDump(jobs: jobs) }
    }
}
