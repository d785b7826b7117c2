import ArgumentParser
import Foundation
import PGArchiveCore

struct CloneDeleteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "delete", abstract: "Delete a stopped clone (a running one with --force).",
        discussion: "Examples:\n  pgarchive clone delete before-mistake\n  pgarchive clone delete --force experiment")
    @OptionGroup var options: ContainerOptions
    @Flag(help: "Stop the clone first if it runs.") var force = false
    @Argument(help: "Clone names.", completion: .cloneNames) var names: [String]

    func run() async throws {
        // Every name is checked before the lock is waited for and anything is deleted.
        try await options.run(.cloneDelete, beforeLock: { container in
            for name in names { _ = try container.clones.get(name) }
        }) { container in
            for name in names { try await container.deleteClone(name, force: force) }
        }
    }
}
