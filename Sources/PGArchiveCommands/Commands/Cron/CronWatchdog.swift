import ArgumentParser
import Foundation
import PGArchiveCore

struct CronWatchdogCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watchdog",
        abstract: "Restart a dead pg_receivewal or standby; report one that is stuck.",
        discussion: "Examples:\n  pgarchive cron watchdog --no-wait")
    @OptionGroup var options: CronJobOptions

    func run() async throws {
        try await options.run(.cronWatchdog) { try await $0.watchdog() }
    }
}
