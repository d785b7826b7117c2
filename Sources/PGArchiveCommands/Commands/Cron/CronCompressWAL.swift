import ArgumentParser
import Foundation
import PGArchiveCore

struct CronCompressWALCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compress-wal",
        abstract: "Compress completed WAL segments (wal_compression); safe beside wal fetch, so no lock.",
        discussion: "Examples:\n  pgarchive cron compress-wal --no-wait")
    @OptionGroup var options: CronJobOptions

    func run() async throws {
        try await options.run(.cronCompressWAL) { container in
            let report = try container.compressWAL(logger: container.logger)
            if !report.failures.isEmpty { throw PGArchiveError(report.summary) }
            return report.summary
        }
    }
}
