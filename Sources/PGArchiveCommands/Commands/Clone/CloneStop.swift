import ArgumentParser
import Foundation
import PGArchiveCore

struct CloneStopCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stop", abstract: "Stop a clone, or all with --all.",
        discussion: "Examples:\n  pgarchive clone stop before-mistake\n  pgarchive clone stop --all")
    @OptionGroup var options: ContainerOptions
    @Flag(help: "Stop every running clone.") var all = false
    @Argument(help: "Clone name.", completion: .cloneNames) var name: String?

    func run() async throws {
        try await options.run(.cloneStop, detail: all ? "--all" : name ?? "") { container in
            if all {
                for clone in try container.clones.list() { _ = try await container.stopClone(clone.name) }
                return
            }
            guard let name else { throw PGArchiveError("name a clone, or use --all") }
            if try await !container.stopClone(name) { container.logger.info("clone \(name) is not running") }
        }
    }
}
