import ArgumentParser
import Foundation
import PGArchiveCore

/// The standby's and clones' restore_command. Exit codes follow what PostgreSQL expects:
/// 0 served, 1 not in the archive (quietly: PostgreSQL asks for files that do not exist
/// yet all the time), 126 on a real error, which makes recovery stop instead of treating a
/// broken file as the end of WAL.
struct WALFetchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fetch",
        abstract: "Copy a WAL segment or history file out of the archive (the restore_command).",
        discussion: "Examples:\n  restore_command = 'pgarchive wal fetch -C /srv/pgarchive/main %f %p'\n  pgarchive wal fetch 000000010000000000000042 /tmp/segment")

    @OptionGroup var options: ContainerOptions

    @Flag(name: .customLong("partial-ok"), help: "Serve the newest .partial segment under its final name (clones only).")
    var partialOK = false

    @Argument(help: "File name PostgreSQL asks for (%f).") var segment: String
    @Argument(help: "Where to write it (%p).") var destination: String

    func run() async throws {
        let container = try options.open()
        let source: String
        do {
            source = try WALArchive(directory: container.layout.walArchive).fetch(segment, to: destination, partialOK: partialOK)
            if options.verbose { container.logger.debug("served \(source)") }
        } catch .notFound {
            throw ExitCode(1)
        } catch .failed(let message) {
            FileHandle.standardError.write(Data("pgarchive wal fetch: \(message)\n".utf8))
            throw ExitCode(126)
        }
        try await gateTablespaces(container, source: source)
    }

    /// Withdraws a segment whose CREATE TABLESPACE the requester would replay outside its
    /// data directory (TablespaceGate).
    private func gateTablespaces(_ container: Container, source: String) async throws {
        guard TablespaceGate.needsScan(layout: container.layout, segment: segment) else { return }
        do {
            try await TablespaceGate.enforce(layout: container.layout, binaries: try await container.binaries(), segment: segment,
                                             destination: destination, source: source, isClone: partialOK)
        } catch let error as PGArchiveError {
            if !error.message.isEmpty { FileHandle.standardError.write(Data("pgarchive wal fetch: \(error.message)\n".utf8)) }
            throw ExitCode(error.exitCode)
        }
    }
}
