import ArgumentParser
import Foundation
import PGArchiveCore

struct CloneRestartCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "restart", abstract: "Stop and start a clone.",
        discussion: "Examples:\n  pgarchive clone restart before-mistake")
    @OptionGroup var options: ContainerOptions
    @Argument(help: "Clone name.", completion: .cloneNames) var name: String

    func run() async throws {
        try await options.run(.cloneRestart, detail: name) { container in
            _ = try await container.stopClone(name)
            _ = try await container.startClone(name)
        }
    }
}
