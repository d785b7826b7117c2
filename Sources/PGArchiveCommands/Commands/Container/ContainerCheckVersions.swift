import ArgumentParser
import Foundation
import PGArchiveCore

struct ContainerCheckVersionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkversions",
        abstract: "Compare the upstream's PostgreSQL version with the local tools'; exit 1 on a mismatch.",
        discussion: "Examples:\n  pgarchive container checkversions")

    @OptionGroup var options: ContainerOptions

    func run() async throws {
        try await options.run(.containerCheckVersions) { try await $0.checkVersions { print($0) } }
    }
}
