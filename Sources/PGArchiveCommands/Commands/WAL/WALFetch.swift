import ArgumentParser
import Foundation
import PGArchiveCore

/// The standby's and clones' restore_command; WALFetchRequest decides what is served and
/// the exit code PostgreSQL gets (0 served, 1 not in the archive, 126 any other error).
struct WALFetchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fetch",
        abstract: "Copy a WAL segment or history file out of the archive (the restore_command).",
        discussion: "Exits 0 when the file was copied, 1 when it is not in the archive, and 126 on any other error (an unreadable or malformed configuration, a permission or I/O error, a corrupt compressed segment), which PostgreSQL treats as fatal, so recovery stops instead of ending early.\n\nExamples:\n  restore_command = 'pgarchive wal fetch -C /srv/pgarchive/main %f %p'\n  pgarchive wal fetch 000000010000000000000042 /tmp/segment")

    @OptionGroup var options: ContainerOptions

    @Flag(name: .customLong("partial-ok"), help: "Serve the newest .partial segment under its final name (clones only).")
    var partialOK = false

    @Argument(help: "File name PostgreSQL asks for (%f).") var segment: String
    @Argument(help: "Where to write it (%p).") var destination: String

    func run() async throws {
        let request = WALFetchRequest(segment: segment, destination: destination, partialOK: partialOK)
        let outcome = await request.serve(verbose: options.verbose, open: options.open)
        if let message = outcome.message { FileHandle.standardError.write(Data((message + "\n").utf8)) }
        if outcome.exitCode != WALFetchExit.served { throw ExitCode(outcome.exitCode) }
    }
}
