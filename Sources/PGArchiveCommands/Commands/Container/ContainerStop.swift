import ArgumentParser
import Foundation
import PGArchiveCore

struct ContainerStopCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stop", abstract: "Stop the standby and pg_receivewal (the slot keeps the upstream's WAL meanwhile).",
        discussion: "Examples:\n  pgarchive container stop")

    @OptionGroup var options: ContainerOptions

    func run() async throws {
        try await options.run(.containerStop) { try await $0.stop() }
    }
}
