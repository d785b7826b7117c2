import ArgumentParser
import Foundation
import PGArchiveCore

struct CloneStartCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "start", abstract: "Start a clone and wait until recovery has finished and it is promoted.",
        discussion: "Examples:\n  pgarchive clone start before-mistake")
    @OptionGroup var options: ContainerOptions
    @Argument(help: "Clone name.", completion: .cloneNames) var name: String

    func run() async throws {
        let (clone, host) = try await options.run(.cloneStart, detail: name) { container in
            (try await container.startClone(name), container.layout.run)
        }
        print("\(clone.name) port=\(clone.port) host=\(host)")
    }
}
