import ArgumentParser
import Foundation
import PGArchiveCore

struct WALDuCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "du", abstract: "Sum the archive's file sizes per day (UTC) and in total.",
        discussion: "Examples:\n  pgarchive wal du")
    @OptionGroup var options: ContainerOptions

    func run() async throws {
        let days = try await options.run(.walDu) { try $0.walDailyUsage() }
        for day in days {
            print("\(day.day)  \(String(day.files).leftPadded(6)) files  \(ByteCount.human(day.bytes).leftPadded(10))")
        }
        print("total       \(String(days.map(\.files).reduce(0, +)).leftPadded(6)) files  \(ByteCount.human(days.map(\.bytes).reduce(0, +)).leftPadded(10))")
    }
}
