import Foundation
import Logging
import Postgres

/// One complete logical dump of one database: `dumps/<db>/<UTC time>/`, a pg_dump directory
/// (toc.dat plus one file per table) with `globals.sql` (pg_dumpall --globals-only of the
/// same run) and this metadata as `pgarchive.dump.json`. pg_restore ignores the two extra
/// files, so the run directory can be handed to pg_restore as it is.
public struct DumpRun: Codable, Sendable, Equatable {
    public var database: String
    /// The run's name: the UTC time the run started, `2026-11-21T08:15:00Z`. All databases
    /// dumped by one `dump create` share it.
    public var name: String
    /// Where the data came from: the snapshot the temporary clone was made of, or `upstream`.
    public var source: String
    /// The moment the data shows. From a clone: the commit time of the last transaction it
    /// replayed (it recovers to the newest WAL in the archive), so every transaction committed
    /// up to then is in the dump. From the upstream: the start of the run.
    public var dataAsOf: Date
    public var startedAt: Date
    public var finishedAt: Date
    public var jobs: Int
    /// pg_dump compressed the table files (gzip); off when btrfs compresses the subvolume,
    /// because btrfs compresses as well and uncompressed files are easier to share.
    public var pgDumpCompression: Bool
    public var serverVersion: String
    /// Bytes of all files (apparent size, before btrfs compression and sharing).
    public var size: UInt64
    public var files: Int
    /// Files found identical to the previous run's and stored as reflinks of them.
    public var sharedFiles: Int
    public var pgarchiveVersion: String

    public var time: Date { DumpStore.parseRunName(name) ?? startedAt }
}
