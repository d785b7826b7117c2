import ArgumentParser
import Foundation
import PGArchiveCore

/// Asks on a terminal; refuses without a terminal unless --force.
func confirmDestructive(_ question: String, force: Bool) throws {
    if force { return }
    guard isatty(STDIN_FILENO) == 1 else {
        throw PGArchiveError("\(question) Refusing without a terminal to ask on; pass --force to confirm.")
    }
    FileHandle.standardError.write(Data("\(question) Type 'yes' to go on: ".utf8))
    guard readLine()?.trimmingCharacters(in: .whitespaces) == "yes" else {
        throw PGArchiveError("not confirmed; nothing was changed")
    }
}

struct ContainerPurgeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "purge",
        abstract: "Delete a container: stop everything, drop the slot, delete every snapshot, clone and segment.",
        discussion: "Examples:\n  pgarchive container purge\n  pgarchive container purge --force")

    @OptionGroup var options: ContainerOptions

    @Flag(help: "Do not ask; also go on when the upstream's slot cannot be dropped.")
    var force = false

    func run() async throws {
        let container = try options.open()
        try confirmDestructive("This deletes container \(container.layout.root) with all its snapshots, clones and WAL.", force: force)
        let lock = try container.lock(.container, command: "container purge")
        defer { _ = lock }
        try await container.purge(force: force)
    }
}

struct ContainerRetireCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retire",
        abstract: "Stop archiving: drop the slot and delete the standby, keep snapshots and WAL for restores.",
        discussion: "Examples:\n  pgarchive container retire")

    @OptionGroup var options: ContainerOptions

    @Flag(help: "Do not ask; also go on when the upstream's slot cannot be dropped.")
    var force = false

    func run() async throws {
        let container = try options.open()
        try confirmDestructive("This stops archiving into \(container.layout.root) and deletes its standby.", force: force)
        let lock = try container.lock(.container, command: "container retire")
        defer { _ = lock }
        try await container.retire(force: force)
    }
}

struct ContainerResyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resync",
        abstract: "Re-create the slot and the standby from a new base backup, keeping snapshots and WAL.",
        discussion: "After a major upgrade of the upstream (pg_upgrade, or a dump restored into a new cluster), status and check say so and pg_receivewal stays stopped; resync with --pg-bindir naming the new version's programs then starts a new standby on the new version. Snapshots from before keep restoring with the old version's programs.\n\nExamples:\n  pgarchive container resync\n  pgarchive container resync --pg-bindir /usr/lib/postgresql/18/bin")

    @OptionGroup var options: ContainerOptions

    @Flag(name: .customLong("spread-checkpoint"), help: "Let the upstream spread the base backup's checkpoint.")
    var spreadCheckpoint = false

    @Option(name: .customLong("pg-bindir"), help: ArgumentHelp("Directory of the PostgreSQL programs of the upstream's (new) major version, recorded as pg_bindir (default: found for that version).", valueName: "dir"),
            completion: .directory)
    var pgBindir: String?

    func run() async throws {
        let container = try options.open()
        let lock = try container.lock(.container, command: "container resync")
        defer { _ = lock }
        try await container.resync(fastCheckpoint: !spreadCheckpoint, pgBindir: pgBindir)
    }
}
