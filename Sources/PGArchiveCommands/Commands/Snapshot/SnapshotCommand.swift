import ArgumentParser

struct SnapshotCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshot",
        abstract: "Read-only btrfs snapshots of the standby: create, list, delete, expire, thin.",
        discussion: "Examples:\n  pgarchive snapshot create\n  pgarchive snapshot list",
        subcommands: [SnapshotCreateCommand.self, SnapshotListCommand.self, SnapshotDeleteCommand.self,
                      SnapshotExpireCommand.self, SnapshotThinCommand.self]
    )
}
