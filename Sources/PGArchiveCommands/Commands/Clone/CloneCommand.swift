import ArgumentParser

struct CloneCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clone",
        abstract: "Writable snapshots recovered to a point in time, each running on its own port.",
        discussion: "Examples:\n  pgarchive clone create undo --time '2026-11-21 14:30' --start\n  pgarchive clone list --status",
        subcommands: [CloneCreateCommand.self, CloneStartCommand.self, CloneStopCommand.self, CloneRestartCommand.self,
                      CloneStatusCommand.self, CloneListCommand.self, CloneLogCommand.self, ClonePsqlCommand.self,
                      CloneDuplicateCommand.self, CloneDeleteCommand.self]
    )
}
