import ArgumentParser
import Foundation
import PGArchiveCore

struct ContainerResyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resync",
        abstract: "Re-create the slot and the standby from a new base backup, keeping snapshots and WAL.",
        discussion: "Examples:\n  pgarchive container resync")

    @OptionGroup var options: ContainerOptions

    @Flag(name: .customLong("spread-checkpoint"), help: "Let the upstream spread the base backup's checkpoint.")
    var spreadCheckpoint = false

    func run() async throws {
        try await options.run(.containerResync) { try await $0.resync(fastCheckpoint: !spreadCheckpoint) }
    }
}
