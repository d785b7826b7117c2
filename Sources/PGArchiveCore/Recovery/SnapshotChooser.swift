import Foundation
import Postgres

/// Picks the snapshot a restore starts from: the newest one from which the target is
/// reachable (recovery is consistent before the target), so the least WAL is replayed.
///
/// A pure function of the snapshots' metadata (see `SnapshotMetadata.init(control:…)`): a
/// clone of a snapshot replays from its REDO point and is consistent only past its minimum
/// recovery point; PostgreSQL refuses ("requested recovery stop point is before consistent
/// recovery point") a stop before that, so every rule below asks "does recovery stop after
/// the snapshot's consistent point?".
public enum SnapshotChooser {
    public static func choose(for target: RecoveryTarget, among snapshots: [SnapshotMetadata],
                              restorePoint: RestorePoint?) throws(PGArchiveError) -> SnapshotMetadata {
        let sorted = snapshots.sorted { $0.checkpointTime < $1.checkpointTime }
        guard let newest = sorted.last, let oldest = sorted.first else {
            throw PGArchiveError("there are no snapshots to restore from; `pgarchive snapshot create` takes one")
        }
        switch target {
        case .latest, .immediate:
            return newest
        case .time(let date):
            // Recovery stops at the first commit after `date`; consistentFrom is at or after
            // the last commit before the snapshot's consistent point.
            if let s = sorted.last(where: { $0.consistentFrom <= date }) { return s }
            throw PGArchiveError("target \(ISO8601.utc(date)) is before the oldest snapshot's consistent point: \(oldest.name) is restorable from \(ISO8601.utc(oldest.consistentFrom)) on")
        case .lsn(let lsn):
            if let s = sorted.last(where: { $0.consistentLSN <= lsn }) { return s }
            throw PGArchiveError("target LSN \(lsn) is before the oldest snapshot's consistent point: \(oldest.name) is restorable from LSN \(oldest.consistentLSN) on")
        case .restorePoint(let name):
            guard let point = restorePoint else {
                throw PGArchiveError("restore point '\(name)' was not made through pgarchive, so its position is unknown; `pgarchive restorepoint list` shows the known ones, or name a snapshot from before it with --snapshot")
            }
            if let s = sorted.last(where: { $0.consistentLSN <= point.lsn }) { return s }
            throw PGArchiveError("restore point '\(name)' (LSN \(point.lsn)) is before the oldest snapshot's consistent point (\(oldest.name), LSN \(oldest.consistentLSN))")
        case .xid(let xid):
            return try choose(forXID: xid, sorted: sorted)
        }
    }

    /// An `--xid` target: recovery stops at the transaction's commit record, so the snapshot
    /// must be consistent before that commit, i.e. the transaction was not yet complete at the
    /// snapshot's consistent point (the standby's transaction snapshot, read right after the
    /// btrfs snapshot, says so). A snapshot's `nextXID` alone is not enough: a transaction
    /// assigned after the restartpoint may commit before the minimum recovery point.
    static func choose(forXID xid: UInt64, sorted: [SnapshotMetadata]) throws(PGArchiveError) -> SnapshotMetadata {
        let newest = sorted.last!
        let full: UInt64
        if xid > 0xFFFF_FFFF {
            full = xid
        } else {
            let reference = newest.xidSnapshot.flatMap(XIDSnapshot.init)?.xmax ?? newest.nextFullXID ?? 0
            full = XIDSnapshot.fullXID(UInt32(xid), near: reference)
        }
        if let s = sorted.last(where: { $0.isConsistentBeforeCommit(of: full) == true }) { return s }
        let measured = sorted.filter { $0.isConsistentBeforeCommit(of: full) != nil }
        let unmeasured = sorted.filter { $0.isConsistentBeforeCommit(of: full) == nil }.map(\.name)
        let what = xid > 0xFFFF_FFFF ? "transaction \(xid)" : "transaction \(xid) (full id \(full >> 32):\(full & 0xFFFF_FFFF))"
        var message: String
        if let oldest = measured.first {
            message = "\(what) had already committed (or aborted) when the oldest snapshot that records its transactions, \(oldest.name), became consistent; no snapshot can reach it"
        } else {
            message = "no snapshot records which transactions it contains, so none is known to be consistent before \(what) commits"
        }
        if !unmeasured.isEmpty {
            message += "; snapshot(s) \(unmeasured.joined(separator: ", ")) were taken without a running standby (or by an older pgarchive) and do not record it: name one from before the transaction with --snapshot"
        }
        throw PGArchiveError(message)
    }
}

extension SnapshotMetadata {
    /// Whether recovery from this snapshot is consistent before the commit of full transaction
    /// id `xid`: true when `xid` was still running or not yet assigned at the snapshot's
    /// consistent point, false when it had completed, nil when the snapshot does not record it.
    public func isConsistentBeforeCommit(of xid: UInt64) -> Bool? {
        guard let text = xidSnapshot, let snapshot = XIDSnapshot(text) else { return nil }
        return !snapshot.isComplete(xid)
    }
}

/// `pg_current_snapshot()` as text, `xmin:xmax:xip,…` with 64-bit (epoch-qualified)
/// transaction ids: every transaction below `xmin` is complete, none from `xmax` on, and
/// those in between are complete unless listed in `xip` (still running).
public struct XIDSnapshot: Sendable, Equatable {
    public var xmin: UInt64
    public var xmax: UInt64
    public var running: Set<UInt64>

    public init?(_ text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 3, let xmin = UInt64(parts[0]), let xmax = UInt64(parts[1]), xmin <= xmax else { return nil }
        var running = Set<UInt64>()
        for item in parts[2].split(separator: ",") {
            guard let xid = UInt64(item), xid >= xmin, xid < xmax else { return nil }
            running.insert(xid)
        }
        self.xmin = xmin
        self.xmax = xmax
        self.running = running
    }

    /// Committed or aborted as of this snapshot.
    public func isComplete(_ xid: UInt64) -> Bool {
        xid < xmin || (xid < xmax && !running.contains(xid))
    }

    /// The full transaction id with the low 32 bits `xid` nearest to `reference` (within 2^31
    /// either way, as PostgreSQL compares 32-bit xids), for an `--xid` given without epoch.
    public static func fullXID(_ xid: UInt32, near reference: UInt64) -> UInt64 {
        let epochs: UInt64 = 1 << 32
        var candidate = (reference & ~(epochs - 1)) | UInt64(xid)
        if candidate > reference, candidate - reference > epochs / 2, candidate >= epochs {
            candidate -= epochs
        } else if candidate < reference, reference - candidate > epochs / 2 {
            candidate += epochs
        }
        return candidate
    }
}
