import ArgumentParser

// Command groups whose verbs are being built (see the issues); each lists its purpose so
// `pgarchive --help` shows the whole shape of the tool.

struct SnapshotCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshot",
        abstract: "Read-only btrfs snapshots of the standby: create, list, delete, expire, thin.")
}

struct CloneCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clone",
        abstract: "Writable snapshots recovered to a point in time, each running on its own port.")
}

struct RestorePointCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restorepoint",
        abstract: "Named restore points on the upstream that clones can recover to.")
}

struct DumpCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dump",
        abstract: "Logical dumps of every database, restorable per table.")
}

struct CronCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cron",
        abstract: "Jobs for cron: snapshots and expiry, WAL compression, watchdog, dumps.")
}
