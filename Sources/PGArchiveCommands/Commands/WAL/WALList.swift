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
        let container = try options.open()
        let archive = WALArchive(directory: container.layout.walArchive)
        for entry in try archive.entries(includeRetired: includeRetired) {
            let kind = entry.name.isHistory ? "history" : (entry.name.isPartial ? "partial" : "segment")
            let compression = entry.name.compression.map { "\($0)" } ?? "-"
            let location = entry.path.hasPrefix(container.layout.walArchive + "/before-resync-") ? "  (before resync)" : ""
            print("\(entry.name.fileName.padding(toLength: 34, withPad: " ", startingAt: 0)) \(kind.padding(toLength: 8, withPad: " ", startingAt: 0)) \(compression.padding(toLength: 5, withPad: " ", startingAt: 0)) \(String(entry.size).leftPadded(10)) \(ISO8601.utc(entry.modified))\(location)")
        }
        let missing = try archive.missingSegments(segmentSize: container.walSegmentSize)
        if !missing.isEmpty {
            FileHandle.standardError.write(Data("pgarchive: warning: \(missing.count) segment(s) missing, first \(missing[0].fileName)\n".utf8))
            throw ExitCode(1)
        }
    }
}

struct WALDuCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "du", abstract: "Sum the archive's file sizes per day (UTC) and in total.",
        discussion: "Examples:\n  pgarchive wal du")
    @OptionGroup var options: ContainerOptions

    func run() async throws {
        let container = try options.open()
        var perDay: [String: (count: Int, bytes: Int64)] = [:]
        var total: Int64 = 0
        for entry in try WALArchive(directory: container.layout.walArchive).entries(includeRetired: true) {
            let day = String(ISO8601.utc(entry.modified).prefix(10))
            perDay[day, default: (0, 0)].count += 1
            perDay[day, default: (0, 0)].bytes += entry.size
            total += entry.size
        }
        for day in perDay.keys.sorted() {
            print("\(day)  \(String(perDay[day]!.count).leftPadded(6)) files  \(ByteCount.human(perDay[day]!.bytes).leftPadded(10))")
        }
        print("total       \(String(perDay.values.map(\.count).reduce(0, +)).leftPadded(6)) files  \(ByteCount.human(total).leftPadded(10))")
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
