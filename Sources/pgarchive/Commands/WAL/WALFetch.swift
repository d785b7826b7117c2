import ArgumentParser
import Foundation
import PGArchiveCore

/// The standby's and clones' restore_command. Exit codes follow what PostgreSQL expects
/// (WALFetchExit): 0 served, 1 not in the archive (quietly), 126 on every other error,
/// including a container that cannot be opened, which makes a clone's recovery stop instead
/// of taking the failure for the end of the WAL (the standby, which never ends recovery on a
/// miss, waits and retries while its container cannot be opened).
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
        let container: Container
        let source: String
        do {
            (container, source) = try fetch()
        } catch {
            if let message = WALFetchExit.message(for: error, file: segment, standby: !partialOK) {
                FileHandle.standardError.write(Data((message + "\n").utf8))
            }
            throw ExitCode(WALFetchExit.code(for: error, standby: !partialOK))
        }
        try await gateTablespaces(container, source: source)
    }

    /// Withdraws a segment whose CREATE TABLESPACE the requester would replay outside its
    /// data directory (TablespaceGate).
    private func gateTablespaces(_ container: Container, source: String) async throws {
        guard TablespaceGate.needsScan(layout: container.layout, segment: segment) else { return }
        do {
            // PostgreSQL runs restore_command in the requester's data directory: pg_waldump of
            // its major version, which may predate a major upgrade of the upstream.
            try await TablespaceGate.enforce(layout: container.layout, binaries: try await container.binaries(forDataDirectory: FileManager.default.currentDirectoryPath), segment: segment,
                                             destination: destination, source: source, isClone: partialOK)
        } catch let error as PGArchiveError {
            if !error.message.isEmpty { FileHandle.standardError.write(Data("pgarchive wal fetch: \(error.message)\n".utf8)) }
            throw ExitCode(error.exitCode)
        } catch {
            // Whatever else fails here (the tools not found, pg_waldump) must stop recovery
            // too: exit 1 would read as "not in the archive" (WALFetchExit).
            FileHandle.standardError.write(Data("pgarchive wal fetch: cannot check \(segment) for CREATE TABLESPACE: \(error) (exit 126)\n".utf8))
            throw ExitCode(126)
        }
    }

    /// Opens the container and serves the file; every error, from opening on, is thrown to
    /// `run()` for the exit code.
    func fetch() throws -> (Container, String) {
        let container = try options.open()
        // PostgreSQL runs restore_command in the requester's data directory: its pg_control
        // says which database system's segment it needs (after a major upgrade, two share names).
        let source = try WALArchive(directory: container.layout.walArchive).fetch(
            segment, to: destination, partialOK: partialOK,
            systemIdentifier: WALArchive.systemIdentifier(dataDirectory: FileManager.default.currentDirectoryPath))
        if options.verbose { container.logger.debug("served \(source)") }
        return (container, source)
    }
}
