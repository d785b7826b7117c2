import ArgumentParser
import Foundation
import PGArchiveCore

struct SnapshotExpireCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "expire",
        abstract: "Delete snapshots older than expire_after (never the newest), then WAL no kept snapshot needs.",
        discussion: "EXPIRE_DATE=TIME in the environment overrides expire_after.\n\nExamples:\n  pgarchive snapshot expire --show\n  EXPIRE_DATE='2026-11-01' pgarchive snapshot expire")
    @OptionGroup var options: ContainerOptions
    @Flag(help: "Print the plan and change nothing.") var show = false
    @Flag(name: .customLong("no-wait"), help: "Exit 75 instead of waiting when another pgarchive holds the snapshot lock.") var noWait = false

    func run() async throws { try await runRetention(options: options, thin: false, show: show, noWait: noWait) }
}
