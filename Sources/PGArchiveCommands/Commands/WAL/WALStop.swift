import ArgumentParser
import Foundation
import PGArchiveCore

struct WALStopCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stop", abstract: "Stop pg_receivewal (the slot keeps the upstream's WAL meanwhile).",
        discussion: "Examples:\n  pgarchive wal stop")
    @OptionGroup var options: ContainerOptions

    func run() async throws {
        try await options.run(.walStop) { $0.receiver.stop(logger: $0.logger) }
    }
}
