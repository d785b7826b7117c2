import ArgumentParser
import Foundation
import PGArchiveCore

struct WALListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List segments and history files with size, compression and time.",
        discussion: "Examples:\n  pgarchive wal list | tail\n  pgarchive wal list --include-retired")
    @OptionGroup var options: ContainerOptions
    @Flag(name: .customLong("include-retired"), help: "Also list segments kept from before a resync.")
    var includeRetired = false

    func run() async throws {
        let listing = try await options.run(.walList) { try $0.walListing(includeRetired: includeRetired) }
        for row in listing.rows {
            let location = row.beforeResync ? "  (before resync)" : ""
            print("\(row.fileName.padding(toLength: 34, withPad: " ", startingAt: 0)) \(row.kind.padding(toLength: 8, withPad: " ", startingAt: 0)) \(row.compression.padding(toLength: 5, withPad: " ", startingAt: 0)) \(String(row.size).leftPadded(10)) \(ISO8601.utc(row.modified))\(location)")
        }
        if let first = listing.missing.first {
            warn("\(listing.missing.count) segment(s) missing, first \(first)")
            throw ExitCode(1)
        }
    }
}
