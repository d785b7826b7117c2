import ArgumentParser

struct WALCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wal",
        abstract: "The WAL archive: pg_receivewal, segments, restore_command.",
        discussion: "Examples:\n  pgarchive wal list\n  pgarchive wal log -f",
        subcommands: [
            WALStartCommand.self, WALStopCommand.self, WALStatusCommand.self, WALListCommand.self,
            WALDuCommand.self, WALLogCommand.self, WALFetchCommand.self, WALCompressCommand.self,
        ],
        aliases: ["wal_archive"]
    )
}
