import ArgumentParser
import Foundation
import PGArchiveCore

struct CronMaintenanceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "maintenance",
        abstract: "Opt-in btrfs housekeeping: maintenance_command on standby/ (e.g. defragment), scrub status.",
        discussion: "Examples:\n  pgarchive cron maintenance --no-wait")
    @OptionGroup var options: CronJobOptions

    func run() async throws {
        try await options.run(.cronMaintenance) { try await $0.maintenance() }
    }
}
