import ArgumentParser
import Foundation
import PGArchiveCore

struct DumpListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List complete dump runs: database, time, source snapshot, size, exclusive size.",
        discussion: "DATA AS OF is the moment the run's data shows: the commit time of the last transaction in it (every transaction committed up to then is in the dump), or for --from-upstream runs the start of the run. SIZE is the apparent size of the run's files; EXCLUSIVE is what only this run uses on btrfs (`btrfs filesystem du`): files shared with other runs count for neither, so an unchanged database shows almost 0.\n\nExamples:\n  pgarchive dump list\n  pgarchive dump list shop --json")
    @OptionGroup var options: ContainerOptions
    @Flag(help: "Print JSON.") var json = false
    @Argument(help: "Only this database.", completion: .databaseNames) var database: String?

    func run() async throws {
        let (entries, leftovers) = try await options.run(.dumpList) { try await $0.dumpListing(database: database) }
        if json {
            try JSONOutput.print(entries)
            return
        }
        print("DATABASE             RUN                   DATA AS OF            SOURCE                SIZE        EXCLUSIVE   SHARED FILES")
        for e in entries {
            let exclusive = e.exclusiveBytes.map { ByteCount.human(Int64($0)) } ?? "?"
            print("\(e.run.database.padded(20)) \(e.run.name.padded(21)) \(ISO8601.utc(e.run.dataAsOf).padded(21)) \(e.run.source.padded(21)) \(ByteCount.human(Int64(e.run.size)).padded(11)) \(exclusive.padded(11)) \(e.run.sharedFiles)/\(e.run.files)")
        }
        for path in leftovers {
            warn("\(path) is incomplete (an interrupted dump create or expire); the next dump create removes it")
        }
    }
}
