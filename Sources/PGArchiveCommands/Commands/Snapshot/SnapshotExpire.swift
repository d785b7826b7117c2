import ArgumentParser
import Foundation
import PGArchiveCore

/// Shared by `snapshot expire` and `snapshot thin`.
func runRetention(options: ContainerOptions, thin: Bool, show: Bool, noWait: Bool) async throws {
    let container = try options.open()
    let lock = try container.lock(.snapshots, command: thin ? "snapshot thin" : "snapshot expire", wait: !noWait)
    defer { _ = lock }
    let plan = try await container.retentionPlan(thin: thin)
    for decision in plan.snapshots { print("\(show ? "would delete" : "delete") snapshot \(decision.name): \(decision.reason)") }
    if let cutoff = plan.walCutoff {
        print("\(show ? "would delete" : "delete") \(plan.wal.count) WAL segments before \(cutoff) (the oldest REDO point a kept snapshot, clone or the standby needs)")
    }
    if !plan.walBlockedBy.isEmpty { print("\(show ? "would delete" : "delete") no WAL: \(plan.walBlockedBy.joined(separator: "; "))") }
    if plan.snapshots.isEmpty && plan.wal.isEmpty && plan.walBlockedBy.isEmpty { print("nothing to \(thin ? "thin" : "expire")") }
    if !show { try container.apply(plan) }
}

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

struct SnapshotThinCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "thin",
        abstract: "Keep one snapshot per day (the first) among those older than thin_daily_after.",
        discussion: "THIN_DAILY_DATE=TIME in the environment overrides thin_daily_after.\n\nExamples:\n  pgarchive snapshot thin --show\n  THIN_DAILY_DATE='2026-11-14' pgarchive snapshot thin")
    @OptionGroup var options: ContainerOptions
    @Flag(help: "Print the plan and change nothing.") var show = false
    @Flag(name: .customLong("no-wait"), help: "Exit 75 instead of waiting when another pgarchive holds the snapshot lock.") var noWait = false

    func run() async throws { try await runRetention(options: options, thin: true, show: show, noWait: noWait) }
}
