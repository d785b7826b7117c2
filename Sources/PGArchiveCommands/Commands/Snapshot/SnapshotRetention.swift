import ArgumentParser
import Foundation
import PGArchiveCore

/// Shared by `snapshot expire` and `snapshot thin`: prints the plan, applies it unless `show`.
func runRetention(options: ContainerOptions, thin: Bool, show: Bool, noWait: Bool) async throws {
    try await options.run(thin ? .snapshotThin : .snapshotExpire, wait: !noWait) { container in
        let plan = try await container.retentionPlan(thin: thin)
        for decision in plan.snapshots { print("\(show ? "would delete" : "delete") snapshot \(decision.name): \(decision.reason)") }
        if let cutoff = plan.walCutoff {
            print("\(show ? "would delete" : "delete") \(plan.wal.count) WAL segments before \(cutoff) (the oldest REDO point a kept snapshot, clone or the standby needs)")
        }
        if !plan.walBlockedBy.isEmpty { print("\(show ? "would delete" : "delete") no WAL: \(plan.walBlockedBy.joined(separator: "; "))") }
        if plan.snapshots.isEmpty && plan.wal.isEmpty && plan.walBlockedBy.isEmpty { print("nothing to \(thin ? "thin" : "expire")") }
        if !show { try container.apply(plan) }
    }
}
