import ArgumentParser
import Foundation
import PGArchiveCore

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
        try await options.run(.containerResync) { try await $0.resync(fastCheckpoint: !spreadCheckpoint, pgBindir: pgBindir) }
    }
}
