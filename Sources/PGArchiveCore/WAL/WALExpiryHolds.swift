import Foundation
import Logging
import Postgres

/// What, besides the kept snapshots' metadata, holds back WAL expiry: every data directory in
/// the container that may still replay WAL from the archive, read from its own pg_control.
///
/// - A clone counts only while it is in recovery: once promoted it runs on its own timeline
///   from its own pg_wal and needs nothing from the archive (a forgotten promoted clone must
///   not grow `wal_archive/` until the disk is full). A clone never started is still in
///   recovery (its pg_control is the snapshot's) and counts.
/// - A snapshot whose `NAME.json` is missing or unreadable is invisible to the listing, yet
///   still restorable by hand: its REDO point is taken from its own pg_control. When even that
///   cannot be read, no WAL is deleted at all until it is repaired or deleted.
public enum WALExpiryHolds {
    /// True when a data directory in `state` (pg_control's "Database cluster state") may still
    /// read WAL from the archive: archive recovery, a standby or clone shut down in recovery,
    /// starting up, or a state this code does not know. A promoted or primary server ("in
    /// production", "shut down", "shutting down", "in crash recovery", which PostgreSQL enters
    /// only without recovery.signal/standby.signal) does not.
    public static func needsArchive(_ state: ControlData.ClusterState) -> Bool {
        switch state {
        case .inProduction, .shutDown, .shuttingDown, .inCrashRecovery: return false
        case .inArchiveRecovery, .shutDownInRecovery, .startingUp, .other: return true
        }
    }

    /// The outcome: REDO points that hold WAL back, notes for the log, and reasons that forbid
    /// deleting any WAL (non-empty: delete none).
    public struct Result: Sendable {
        public var redoPoints: [LSN] = []
        public var notes: [String] = []
        /// Objects that need repair but whose needs are known (logged as warnings).
        public var warnings: [String] = []
        public var blockers: [String] = []
    }
}

extension Container {
    /// Clones and snapshots without readable metadata, as `WALExpiryHolds` describes.
    /// `listed`: the snapshots whose metadata was read (their REDO points are counted already).
    func walExpiryHolds(listed: [SnapshotMetadata], binaries: PostgresBinaries) async -> WALExpiryHolds.Result {
        var result = WALExpiryHolds.Result()
        let fm = FileManager.default

        // Clones: every directory under clones/, with or without metadata.
        let cloneNames = ((try? fm.contentsOfDirectory(atPath: layout.clones)) ?? []).sorted()
        for name in cloneNames {
            let directory = layout.clones + "/" + name
            let inFlight = name.hasPrefix(CloneStore.creatingPrefix)
            if inFlight && clones.leftovers().contains(directory) { continue } // a killed create, removed later
            if name.hasPrefix(".") && !inFlight { continue }
            do {
                let control = try await ControlData.read(dataDirectory: directory, binaries: binaries)
                if WALExpiryHolds.needsArchive(control.clusterState) {
                    result.redoPoints.append(control.redoLocation)
                } else {
                    result.notes.append("clone \(name) is \(control.clusterState) (promoted): it needs no WAL from the archive and does not hold back expiry")
                }
            } catch {
                if inFlight { continue } // being made; its snapshot is kept by the lock it holds
                result.blockers.append("cannot read the pg_control of clones/\(name) (\(error)), so the WAL it may need is unknown; no WAL was deleted. Delete it (`pgarchive clone delete \(name)`) if it is not wanted")
            }
        }

        // Snapshots: subvolumes under snapshots/ the listing skipped (no or unreadable NAME.json).
        let listedNames = Set(listed.map(\.name))
        let names = ((try? fm.contentsOfDirectory(atPath: layout.snapshots)) ?? []).sorted()
        for name in names where !name.hasPrefix(".") && !name.hasSuffix(".json") && !listedNames.contains(name) {
            // A delete in progress (metadata renamed away first) is finished by removeLeftovers.
            if fm.fileExists(atPath: snapshots.deletingMarker(name)) { continue }
            let why: String
            do { _ = try snapshots.read(name); why = "?" } catch { why = error.message }
            do {
                let control = try await ControlData.read(dataDirectory: layout.snapshot(name), binaries: binaries)
                result.redoPoints.append(control.redoLocation)
                result.warnings.append("snapshot \(name) has no readable metadata (\(why)); it holds back WAL expiry from the REDO point in its own pg_control, \(control.redoLocation) (\(control.redoWALFile)); restore its \(name).json, or delete the snapshot (`pgarchive snapshot delete \(name)`)")
            } catch {
                result.blockers.append("snapshot \(name) has neither readable metadata (\(why)) nor a readable pg_control (\(error)), so the WAL it needs is unknown; no WAL was deleted. Repair it, or delete it (`pgarchive snapshot delete \(name)` for a subvolume, else remove the directory \(layout.snapshot(name)))")
            }
        }
        return result
    }
}

extension SnapshotStore {
    /// `snapshots/NAME` exists (a valid snapshot name) but its `NAME.json` is missing or
    /// unreadable, and no delete of it is under way.
    func lacksReadableMetadata(_ name: String) -> Bool {
        guard (try? ObjectName.validate(name, kind: "snapshot")) != nil,
              FileManager.default.fileExists(atPath: layout.snapshot(name)),
              !FileManager.default.fileExists(atPath: deletingMarker(name)) else { return false }
        return (try? read(name)) == nil
    }
}
