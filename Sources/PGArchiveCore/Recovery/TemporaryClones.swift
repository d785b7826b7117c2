import Foundation
import Logging
import Postgres

/// The temporary clones `dump create` and `verify --restore` work on, and what their errors
/// say about them.
extension Container {
    /// Creates and starts `dump-<pid>`: a clone of the newest snapshot recovered to the newest
    /// WAL in the archive (the `.partial` segment included), so a dump holds everything the
    /// archive has, also what arrived after the newest snapshot. Recovering only to the
    /// snapshot's consistent point (`immediate`) would both miss that and fail on a quiet
    /// upstream (see `immediateRecoveryEndedAtEndOfWAL`). Returns the clone and the time its
    /// data is as of (`dumpDataAsOf`). The clone is deleted again if it does not come up.
    func startDumpClone() async throws -> (clone: CloneMetadata, dataAsOf: Date) {
        let name = DumpStore.temporaryClonePrefix + String(getpid())
        if (try? snapshots.list())?.isEmpty ?? true {
            throw PGArchiveError("there are no snapshots to dump from; `pgarchive snapshot create` takes one, or dump the upstream directly with --from-upstream")
        }
        var created = false
        do {
            let clone: CloneMetadata
            do {
                // Clone creation picks a port and a snapshot: the same lock as `clone create`,
                // held for the fraction of a second the btrfs snapshot takes.
                let lock = try self.lock(.snapshots, command: "dump create (temporary clone)")
                defer { _ = lock }
                clone = try await createClone(name: name, target: .latest, snapshot: nil)
                created = true
                try AtomicFile.write("\(getpid())\n", to: layout.clone(name) + "/" + DumpStore.cloneMarkerFile)
            }
            _ = try await startClone(name)
            return (clone, dumpDataAsOf(clone))
        } catch {
            guard created else { throw error }
            throw await deleteTemporaryClone(name, after: error, what: "dump create")
        }
    }

    /// The moment a dump clone's data shows: the commit time of the last transaction it
    /// replayed (every transaction committed up to then is in it, and no later one is in the
    /// archive). When it replayed none, the last commit in the snapshot itself (the standby's
    /// last replayed commit, read right after the snapshot; the clone replayed everything the
    /// standby did after it), else the snapshot's restorable-from time.
    func dumpDataAsOf(_ clone: CloneMetadata) -> Date {
        if let connection = try? Connection(conninfo: cloneConninfo(clone), connectTimeout: 10) {
            defer { connection.close() }
            if let last = try? connection.lastTransactionReplayTimestamp() { return last }
        }
        let snapshot = try? snapshots.read(clone.snapshot)
        return snapshot?.lastReplayedCommit ?? snapshot?.consistentFrom ?? Date()
    }

    /// Deletes temporary clone `name` after `error` and returns the error to report: what
    /// failed, without advice to delete a clone that is gone, and what is left behind.
    func deleteTemporaryClone(_ name: String, after error: any Error, what command: String) async -> PGArchiveError {
        do {
            try await deleteClone(name, force: true)
            return Self.temporaryCloneError(error, clone: name, deleteError: nil, log: clones.logFile(name), command: command)
        } catch let deleteError {
            logger.error("cannot remove temporary clone \(name): \(deleteError)")
            return Self.temporaryCloneError(error, clone: name, deleteError: deleteError, log: clones.logFile(name), command: command)
        }
    }

    /// `error` with every line advising `pgarchive clone delete <name>` (written for clones a
    /// person made, which stay) replaced by what really became of the temporary clone.
    static func temporaryCloneError(_ error: any Error, clone name: String, deleteError: (any Error)?, log: String,
                                    command: String) -> PGArchiveError {
        let lines = "\(error)".split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.contains("pgarchive clone delete \(name)`") && !$0.contains("pgarchive clone delete --force \(name)`") }
        var message = lines.joined(separator: "\n")
        if let deleteError {
            message += "\nThe temporary clone \(name) could not be deleted (\(deleteError)); the next `pgarchive \(command)` removes it, or `pgarchive clone delete --force \(name)`."
        } else {
            message += "\nThe temporary clone \(name) was stopped and deleted; its server log stays in \(log)."
        }
        return PGArchiveError(message, exitCode: (error as? PGArchiveError)?.exitCode ?? 1)
    }

    /// PostgreSQL ends an `immediate` recovery by stopping *before* the first WAL record after
    /// the consistent point. When the archive's WAL ends exactly there (a snapshot taken right
    /// after a WAL switch, e.g. `snapshot create --checkpoint-upstream`, while the upstream is
    /// quiet: its next segment stays empty for as long as nothing is written), there is no
    /// such record, and recovery fails with "recovery ended before configured recovery target
    /// was reached" although it was consistent. The consistent point is then the end of the
    /// WAL, so recovering to the end (no target) reaches the same state: this rewrites the
    /// clone's settings so, once, and says so. True when the clone should be started again.
    func immediateRecoveryEndedAtEndOfWAL(_ clone: CloneMetadata, log: String, logStart: UInt64) -> Bool {
        guard clone.target == .immediate else { return false }
        let tail = LogFile.tail(log, from: logStart, lines: 400)
        guard tail.contains("consistent recovery state reached"),
              tail.contains("recovery ended before configured recovery target was reached") else { return false }
        let path = layout.clone(clone.name) + "/postgresql.conf"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return false }
        guard let kept = RecoverySettings.removingImmediateTarget(postgresqlConf: text),
              (try? AtomicFile.write(kept, to: path)) != nil else { return false }
        logger.notice("clone \(clone.name): the archive's WAL ends at snapshot \(clone.snapshot)'s consistent point, where PostgreSQL cannot stop an immediate recovery; recovering to the end of the WAL instead (the same point, unless WAL arrived meanwhile)")
        return true
    }

    /// What a clone's recovery really aims at: its recorded target, except for an immediate
    /// clone whose target `immediateRecoveryEndedAtEndOfWAL` removed, which now recovers to
    /// the end of the WAL and must be checked as `latest` (its history file then records
    /// "no recovery target specified", not "reached consistency").
    public static func effectiveTarget(recorded: RecoveryTarget, postgresqlConf text: String?) -> RecoveryTarget {
        guard recorded == .immediate, let text else { return recorded }
        return RecoverySettings.hasImmediateTarget(postgresqlConf: text) ? recorded : .latest
    }
}
