import Foundation
import Logging
import Postgres

/// A clone is promoted by pgarchive, not by PostgreSQL at the end of recovery (issue
/// 16). With `recovery_target_action = promote` PostgreSQL ends recovery with an
/// immediate checkpoint and accepts connections only once it has finished (the log says
/// `checkpoint starting: end-of-recovery immediate wait`): on a clone that replayed a lot,
/// seconds of writing every dirty buffer. A clone instead pauses at its target (`pause`), or
/// for `--latest` runs as a standby until it has replayed the archive's end, and pgarchive
/// then calls `pg_promote()`: PostgreSQL writes an end-of-recovery record, accepts
/// connections at once and runs the checkpoint in the background (`checkpoint starting:
/// force`). Where recovery ended is still checked from the new history file afterwards.
///
/// A target that is never reached still fails as before: PostgreSQL refuses to pause there
/// and stops with `FATAL: recovery ended before configured recovery target was reached`.
public enum ClonePromotion {
    /// What the clone's server says while it is in recovery.
    public struct Reading: Sendable, Equatable {
        /// `pg_is_wal_replay_paused()`: paused at its target (nobody else pauses a clone).
        public var paused: Bool
        /// `pg_last_wal_replay_lsn()`: the end of the last record replayed.
        public var replayed: LSN?
        /// The startup process waits in `RecoveryRetrieveRetryInterval`: every WAL source
        /// failed, so it has replayed all it can read (a standby-mode clone at the archive's end).
        public var waitingForWAL: Bool

        public init(paused: Bool, replayed: LSN?, waitingForWAL: Bool) {
            self.paused = paused
            self.replayed = replayed
            self.waitingForWAL = waitingForWAL
        }
    }

    /// Whether to promote now. A paused clone is at its target. A standby-mode clone
    /// (`--latest`) is done when it replayed past the last record measured in the archive
    /// before the start (`lastRecord`), or when it waits for WAL that is not there: then
    /// the check after promotion tells a complete recovery from a short one, as it did when
    /// PostgreSQL promoted at the end of the WAL itself.
    public static func isDue(_ reading: Reading, standbyMode: Bool, lastRecord: LSN?) -> Bool {
        if reading.paused { return true }
        guard standbyMode else { return false }
        if reading.waitingForWAL { return true }
        if let lastRecord, let replayed = reading.replayed, replayed > lastRecord { return true }
        return false
    }

    static let readingQuery = """
        SELECT pg_is_wal_replay_paused() AS paused, pg_last_wal_replay_lsn()::text AS replayed,
               EXISTS (SELECT 1 FROM pg_stat_activity WHERE backend_type = 'startup'
                       AND wait_event = 'RecoveryRetrieveRetryInterval') AS waiting
        """

    static func read(_ connection: Connection) throws(PostgresError) -> Reading {
        let row = try connection.query(readingQuery).singleRow()
        return Reading(paused: try row.bool("paused"), replayed: try row.optionalLSN("replayed"), waitingForWAL: try row.bool("waiting"))
    }
}

extension Container {
    /// A running clone that accepts connections and is still in recovery: paused at its
    /// target (or replaying as a standby) for a promotion nobody asked for yet.
    func isRunningInRecovery(_ clone: CloneMetadata) -> Bool {
        guard let connection = try? Connection(conninfo: cloneConninfo(clone), connectTimeout: 3) else { return false }
        defer { connection.close() }
        connection.noticeHandler = { _ in }
        return (try? connection.isInRecovery()) == true
    }

    /// Promotes a clone still in recovery with `pg_promote()` once `ClonePromotion.isDue`;
    /// true when it asked for the promotion. `standby.signal` in the clone marks the
    /// standby mode of a `--latest` clone (`RecoverySettings.cloneSignalFiles`).
    func promoteCloneIfDue(_ clone: CloneMetadata, connection: Connection, expectation: RecoveryExpectation?) -> Bool {
        let standbyMode = FileManager.default.fileExists(atPath: layout.clone(clone.name) + "/standby.signal")
        guard let reading = try? ClonePromotion.read(connection),
              ClonePromotion.isDue(reading, standbyMode: standbyMode, lastRecord: expectation?.lastRecord) else { return false }
        let at = reading.replayed.map { " at \($0)" } ?? ""
        logger.info("clone \(clone.name) \(reading.paused ? "paused at its target" : "replayed the archive's WAL")\(at); promoting it")
        do {
            _ = try connection.query("SELECT pg_promote(true, 60)")
            return true
        } catch {
            logger.warning("clone \(clone.name): pg_promote() failed (\(error)); trying again")
            return false
        }
    }
}
