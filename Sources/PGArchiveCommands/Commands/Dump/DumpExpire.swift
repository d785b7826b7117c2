import ArgumentParser
import Foundation
import PGArchiveCore

struct DumpExpireCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "expire",
        abstract: "Delete all but the newest dump_keep runs of each database.",
        discussion: "Examples:\n  pgarchive dump expire --show\n  pgarchive dump expire")
    @OptionGroup var options: ContainerOptions
    @Flag(help: "Only show what would be deleted.") var show = false

    func run() async throws {
        let plan = try await options.run(.dumpExpire) { try $0.expireDumps(dryRun: show) }
        for run in plan { print("\(show ? "would expire" : "expired") \(run.database)\t\(run.name)") }
    }
}
