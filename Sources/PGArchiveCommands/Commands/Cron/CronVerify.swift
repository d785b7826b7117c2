import ArgumentParser
import Foundation
import PGArchiveCore

struct CronVerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Verify the archive (see `pgarchive verify`); with --restore also a test restore of the newest snapshot.",
        discussion: "Fails (and cron mails the problems) when verification finds a problem; `container status`, `check` and `metrics` show the last result.\n\nExamples:\n  pgarchive cron verify --restore --no-wait")
    @OptionGroup var options: CronJobOptions
    @Flag(help: "Also restore the newest snapshot into a temporary clone and check it.") var restore = false
    @Flag(help: "With --restore: restore every snapshot in turn.") var all = false

    func run() async throws {
        try await options.run(.cronVerify) { try await $0.cronVerify(restore: restore, all: all) }
    }
}
