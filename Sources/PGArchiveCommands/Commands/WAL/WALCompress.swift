import ArgumentParser
import PGArchiveCore

/// `pgarchive wal compress`: compresses the completed segments in `wal_archive/` (and its
/// `before-resync-*` directories) with the container's `wal_compression`.
///
/// Takes no lock on purpose: compressing a segment never removes the last complete copy of it
/// (the compressed file is written under a temporary name, fsynced, verified and renamed into
/// place before the original is unlinked), so it is safe beside `wal fetch`, pg_receivewal,
/// another compress run and a kill -9; the next run finishes what an interrupted one left.
struct WALCompressCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compress",
        abstract: "Compress completed WAL segments with wal_compression (zstd, lz4, gzip; none does nothing).",
        discussion: "Leaves .partial and .history files alone. `wal fetch` serves compressed segments transparently. Exits 1 if a segment could not be compressed.\n\nExamples:\n  pgarchive wal compress")

    @OptionGroup var options: ContainerOptions

    func run() async throws {
        let report = try await options.run(.walCompress) { container in
            // The summary goes to stdout; on stderr only warnings (each problem), or with -v
            // also one line per segment.
            var logger = container.logger
            if !options.verbose { logger.logLevel = .notice }
            return try container.compressWAL(logger: logger)
        }
        // `compressed N segments: X → Y (ratio R) with zstd`, or why nothing was done.
        print(report.summary)
        if !report.failures.isEmpty { throw ExitCode(1) }
    }
}
