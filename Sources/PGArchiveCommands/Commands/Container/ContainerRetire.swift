import ArgumentParser
import Foundation
import PGArchiveCore

struct ContainerRetireCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retire",
        abstract: "Stop archiving: drop the slot and delete the standby, keep snapshots and WAL for restores.",
        discussion: "Examples:\n  pgarchive container retire")

    @OptionGroup var options: ContainerOptions

    @Flag(help: "Do not ask; also go on when the upstream's slot cannot be dropped.")
    var force = false

    func run() async throws {
        try await options.run(.containerRetire, beforeLock: { container in
            try confirmDestructive("This stops archiving into \(container.layout.root) and deletes its standby.", force: force)
        }) { try await $0.retire(force: force) }
    }
}
