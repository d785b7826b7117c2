import ArgumentParser

struct RestorePointCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restorepoint",
        abstract: "Named restore points on the upstream that clones can recover to.",
        discussion: "Examples:\n  pgarchive restorepoint create before_release_42\n  pgarchive restorepoint list",
        subcommands: [RestorePointCreateCommand.self, RestorePointListCommand.self]
    )
}
