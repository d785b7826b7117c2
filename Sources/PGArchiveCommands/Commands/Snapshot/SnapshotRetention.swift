import ArgumentParser
import Foundation
import PGArchiveCore

/// Shared by `snapshot expire` and `snapshot thin`: prints the plan, applies it unless `show`.
func runRetention(options: ContainerOptions, thin: Bool, show: Bool, noWait: Bool) async throws {
    try await options.run(thin ? .snapshotThin : .snapshotExpire, wait: !noWait) { container in
        let plan = try await container.retentionPlan(thin: thin)
        print(plan.rendered(thin: thin, show: show), terminator: "")
        if !show { try container.apply(plan) }
    }
}
