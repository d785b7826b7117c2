import ArgumentParser
import Foundation
import PGArchiveCore

struct SnapshotDeleteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete", abstract: "Delete snapshots by name (all names are checked before any is deleted).",
        discussion: "Examples:\n  pgarchive snapshot delete 2026-11-20T08:15:00Z 2026-11-20T09:15:00Z")
    @OptionGroup var options: ContainerOptions
    @Flag(help: "Also delete snapshots that clones are based on.") var force = false
    @Argument(help: "Snapshot names.", completion: .snapshotNames) var names: [String]

    func run() async throws {
        try await options.run(.snapshotDelete) { try $0.deleteSnapshots(names, force: force) }
    }
}
