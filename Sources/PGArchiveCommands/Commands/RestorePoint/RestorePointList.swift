import ArgumentParser
import Foundation
import PGArchiveCore

struct RestorePointListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the restore points made through pgarchive.",
        discussion: "Examples:\n  pgarchive restorepoint list")
    @OptionGroup var options: ContainerOptions
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        let points = try await options.run(.restorePointList) { try $0.restorePoints.list() }
        if json { try JSONOutput.print(points); return }
        for p in points { print("\(p.name.padded(30)) \(p.lsn.description.padded(15)) \(ISO8601.utc(p.createdAt))") }
    }
}
