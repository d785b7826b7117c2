import ArgumentParser
import Foundation
import PGArchiveCore

struct CronExpireAndCreateSnapshotCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "expire-and-create-snapshot",
        abstract: "Thin and expire snapshots (then the WAL no kept snapshot needs), then take a new snapshot.",
        discussion: "Examples:\n  pgarchive cron expire-and-create-snapshot --no-wait")
    @OptionGroup var options: CronJobOptions

    func run() async throws {
        try await options.run(.cronExpireAndCreateSnapshot) { try await $0.expireAndCreateSnapshot() }
    }
}
