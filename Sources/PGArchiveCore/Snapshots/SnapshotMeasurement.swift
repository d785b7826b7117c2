import Foundation
import Postgres

/// What the running standby says right after a btrfs snapshot of it: upper bounds of what the
/// snapshot contains (the standby only moves on), each nil when it could not be read.
public struct StandbyReading: Sendable, Equatable {
    /// `pg_last_wal_replay_lsn()`.
    public var replayedLSN: LSN?
    /// `pg_last_xact_replay_timestamp()`: nil before the first commit replayed since the
    /// standby started.
    public var lastCommit: Date?
    /// `pg_current_snapshot()`: which transactions were complete.
    public var xidSnapshot: String?

    public init(replayedLSN: LSN? = nil, lastCommit: Date? = nil, xidSnapshot: String? = nil) {
        self.replayedLSN = replayedLSN
        self.lastCommit = lastCommit
        self.xidSnapshot = xidSnapshot
    }

    /// Reads the standby through `connection` (closing it); nil without a connection.
    static func read(_ connection: Connection?) -> StandbyReading? {
        guard let connection else { return nil }
        defer { connection.close() }
        // The order matters: each later reading is at least as far on as the one before, so
        // the transaction snapshot is never older than the replay position it is read with.
        let replayed = try? connection.lastReplayLSN()
        let lastCommit = try? connection.lastTransactionReplayTimestamp()
        let xids = (try? connection.query("SELECT pg_current_snapshot()::text").rows.first?[0]) ?? nil
        return StandbyReading(replayedLSN: replayed, lastCommit: lastCommit, xidSnapshot: xids)
    }
}

extension SnapshotMetadata {
    /// A snapshot's metadata from its own pg_control, read right after the btrfs snapshot, and
    /// what the running standby said then (nil: it was not running or did not answer).
    ///
    /// "Restorable from" (`consistentFrom`) must not be before the commit time of any
    /// transaction before the minimum recovery point, or a `--time` target would stop recovery
    /// before the snapshot is consistent. The standby's last replayed commit is such a time. When
    /// it is unknown (standby stopped, or no commit replayed since it started), pg_control
    /// answers: the standby wrote its minimum recovery point into pg_control at or before
    /// "pg_control last modified", and had replayed (so the upstream had committed) everything
    /// before that point by then. pg_control keeps whole seconds, hence the extra second; the
    /// checkpoint's own second is the floor either way (commits of that second may precede the
    /// REDO point).
    public init(control: ControlData, takenAt: Date, standby: StandbyReading?, pgarchiveVersion: String) {
        let floor = control.checkpointTime.addingTimeInterval(1)
        let consistentFrom: Date
        if let lastCommit = standby?.lastCommit {
            consistentFrom = max(lastCommit, floor)
        } else {
            consistentFrom = max(control.lastModified.addingTimeInterval(1), floor)
        }
        self.init(
            name: ISO8601.utc(control.checkpointTime), takenAt: takenAt, redoLSN: control.redoLocation,
            redoWALFile: control.redoWALFile, timeline: control.timeline, checkpointTime: control.checkpointTime,
            minimumRecoveryPoint: control.minimumRecoveryEndingLocation, replayedLSN: standby?.replayedLSN,
            consistentFrom: consistentFrom, nextXID: control.fields["Latest checkpoint's NextXID"],
            systemIdentifier: String(control.systemIdentifier), walSegmentSize: control.walSegmentSize,
            pgarchiveVersion: pgarchiveVersion, xidSnapshot: standby?.xidSnapshot, lastReplayedCommit: standby?.lastCommit)
    }
}
