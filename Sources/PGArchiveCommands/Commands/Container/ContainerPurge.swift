import ArgumentParser
import Foundation
import PGArchiveCore

struct ContainerPurgeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "purge",
        abstract: "Delete a container: stop everything, drop the slot, delete every snapshot, clone and segment.",
        discussion: "Examples:\n  pgarchive container purge\n  pgarchive container purge --force")

    @OptionGroup var options: ContainerOptions

    @Flag(help: "Do not ask; also go on when the upstream's slot cannot be dropped.")
    var force = false

    func run() async throws {
        try await options.run(.containerPurge, beforeLock: { container in
            try confirmDestructive("This deletes container \(container.layout.root) with all its snapshots, clones and WAL.", force: force)
        }) { try await $0.purge(force: force) }
    }
}
