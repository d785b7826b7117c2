import ArgumentParser
import Foundation
import PGArchiveCore

struct WALStartCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "start", abstract: "Start pg_receivewal.",
        discussion: "Examples:\n  pgarchive wal start")
    @OptionGroup var options: ContainerOptions

    func run() async throws {
        try await options.run(.walStart, beforeLock: { try $0.requireNotRetired() }) { container in
            try await container.receiver.start(binaries: container.binaries(), logger: container.logger)
        }
    }
}
