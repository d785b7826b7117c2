import Foundation
import Postgres

/// Picks the snapshot a restore starts from: the newest one from which the target is
/// reachable (recovery is consistent before the target), so the least WAL is replayed.
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
            // A snapshot whose restartpoint had not assigned the xid yet; compare 32-bit xids
            // within the newest epoch when no epoch is given.
            if let s = sorted.last(where: { snap in
                guard let next = snap.nextFullXID else { return false }
                let candidate = xid > 0xFFFF_FFFF ? xid : (next & ~0xFFFF_FFFF) | xid
                return next <= candidate
            }) { return s }
            throw PGArchiveError("transaction \(xid) was assigned before the oldest snapshot (\(oldest.name)); no snapshot can reach it")
        }
    }
}
