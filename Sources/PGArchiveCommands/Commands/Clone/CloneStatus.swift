import ArgumentParser
import Foundation
import PGArchiveCore

struct CloneStatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Show whether a clone runs; exit 1 if not.",
        discussion: "Examples:\n  pgarchive clone status before-mistake")
    @OptionGroup var options: ContainerOptions
    @Argument(help: "Clone name.", completion: .cloneNames) var name: String

    func run() async throws {
        let (clone, state) = try await options.run(.cloneStatus) { container in
            (try container.clones.get(name), container.clones.state(name))
        }
        print("\(clone.name): \(state), port \(clone.port), snapshot \(clone.snapshot), target \(clone.target)")
        if !state.isRunning { throw ExitCode(1) }
    }
}
