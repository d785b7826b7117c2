import ArgumentParser
import Foundation
import PGArchiveCore

struct ContainerStartCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "start", abstract: "Start pg_receivewal and the standby (whichever is not running).",
        discussion: "Examples:\n  pgarchive container start")

    @OptionGroup var options: ContainerOptions

    func run() async throws {
        try await options.run(.containerStart) { try await $0.start() }
    }
}
