import ArgumentParser
import Foundation
import PGArchiveCore

struct CloneDuplicateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "duplicate", abstract: "Make clone DST a writable snapshot of clone SRC.",
        discussion: "Examples:\n  pgarchive clone duplicate before-mistake experiment")
    @OptionGroup var options: ContainerOptions
    @Argument(help: "Existing clone.", completion: .cloneNames) var source: String
    @Argument(help: "New clone.") var destination: String

    func run() async throws {
        let clone = try await options.run(.cloneDuplicate) { try $0.duplicateClone(source, as: destination) }
        print("\(clone.name) port=\(clone.port)")
    }
}
