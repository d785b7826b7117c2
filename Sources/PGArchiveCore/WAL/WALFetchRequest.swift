import Foundation

/// `wal fetch`, the standby's and clones' restore_command: serves one file from the archive
/// and decides the exit code PostgreSQL gets (WALFetchExit): 0 served, 1 not in the archive
/// (quietly), 126 on every other error, including a container that cannot be opened, which
/// makes a clone's recovery stop instead of taking the failure for the end of the WAL (the
/// standby, which never ends recovery on a miss, waits and retries while its container
/// cannot be opened).
public struct WALFetchRequest: Sendable {
    public var segment: String
    public var destination: String
    /// The requester is a clone: the newest .partial segment is served under its final name.
    public var partialOK: Bool

    public init(segment: String, destination: String, partialOK: Bool) {
        self.segment = segment
        self.destination = destination
        self.partialOK = partialOK
    }

    /// The exit code and the one line for stderr (nil: nothing to say).
    public struct Outcome: Sendable, Equatable {
        public var exitCode: Int32
        public var message: String?
    }

    /// Opens the container with `open` and serves the file; every error, from opening on,
    /// becomes the exit code PostgreSQL expects.
    public func serve(verbose: Bool, open: () throws -> Container) async -> Outcome {
        let container: Container
        let source: String
        do {
            container = try open()
            // PostgreSQL runs restore_command in the requester's data directory: its pg_control
            // says which database system's segment it needs (after a major upgrade, two share names).
            source = try WALArchive(directory: container.layout.walArchive).fetch(
                segment, to: destination, partialOK: partialOK,
                systemIdentifier: WALArchive.systemIdentifier(dataDirectory: FileManager.default.currentDirectoryPath))
            if verbose { container.logger.debug("served \(source)") }
        } catch {
            return Outcome(exitCode: WALFetchExit.code(for: error, standby: !partialOK),
                           message: WALFetchExit.message(for: error, file: segment, standby: !partialOK))
        }
        return await gateTablespaces(container, source: source)
    }

    /// Withdraws a segment whose CREATE TABLESPACE the requester would replay outside its
    /// data directory (TablespaceGate).
    func gateTablespaces(_ container: Container, source: String) async -> Outcome {
        guard TablespaceGate.needsScan(layout: container.layout, segment: segment) else { return Outcome(exitCode: WALFetchExit.served) }
        do {
            // pg_waldump of the requester's major version, which may predate an upgrade.
            try await TablespaceGate.enforce(layout: container.layout, binaries: try await container.binaries(forDataDirectory: FileManager.default.currentDirectoryPath), segment: segment,
                                             destination: destination, source: source, isClone: partialOK)
            return Outcome(exitCode: WALFetchExit.served)
        } catch let error as PGArchiveError {
            return Outcome(exitCode: error.exitCode, message: error.message.isEmpty ? nil : "pgarchive wal fetch: \(error.message)")
        } catch {
            // Whatever else fails here (the tools not found, pg_waldump) must stop recovery
            // too: exit 1 would read as "not in the archive" (WALFetchExit).
            return Outcome(exitCode: WALFetchExit.fatal,
                           message: "pgarchive wal fetch: cannot check \(segment) for CREATE TABLESPACE: \(error) (exit 126)")
        }
    }
}
