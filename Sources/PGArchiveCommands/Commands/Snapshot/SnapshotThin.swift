import ArgumentParser
import Foundation
import PGArchiveCore

struct SnapshotThinCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "thin",
        abstract: "Keep the first snapshot of each hour among those older than thin_hourly_after, of each day older than thin_daily_after.",
        discussion: "THIN_HOURLY_DATE=TIME and THIN_DAILY_DATE=TIME in the environment override thin_hourly_after and thin_daily_after.\n\nExamples:\n  pgarchive snapshot thin --show\n  THIN_DAILY_DATE='2026-11-14' pgarchive snapshot thin")
    @OptionGroup var options: ContainerOptions
    @Flag(help: "Print the plan and change nothing.") var show = false
    @Flag(name: .customLong("no-wait"), help: "Exit 75 instead of waiting when another pgarchive holds the snapshot lock.") var noWait = false

    func run() async throws { try await runRetention(options: options, thin: true, show: show, noWait: noWait) }
}
