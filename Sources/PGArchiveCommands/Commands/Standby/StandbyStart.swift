import ArgumentParser
import Foundation
import PGArchiveCore

struct StandbyStartCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "start", abstract: "Start the standby and wait until it replays.",
        discussion: "Examples:\n  pgarchive standby start")
    @OptionGroup var options: ContainerOptions

    func run() async throws {
        try await options.run(.standbyStart, beforeLock: { try $0.requireNotRetired() }) { container in
            try await container.standby.start(binaries: container.binaries(), logger: container.logger)
        }
    }
}
