import Foundation
import Logging
import Postgres

/// Retention decisions as pure functions of the snapshots and a clock, so they are tested
/// without servers.
public enum Retention {
    public struct Decision: Sendable, Equatable {
        public var name: String
        public var reason: String
    }

    /// Snapshots taken before `expireBefore`. The newest snapshot is always kept, so an
    /// archive whose standby stopped advancing still has something to restore from.
    public static func expire(_ snapshots: [SnapshotMetadata], before expireBefore: Date) -> [Decision] {
        let sorted = snapshots.sorted { $0.checkpointTime < $1.checkpointTime }
        return sorted.dropLast().filter { $0.checkpointTime < expireBefore }.map {
            Decision(name: $0.name, reason: "older than \(ISO8601.utc(expireBefore))")
        }
    }

    /// Among snapshots taken before `thinBefore`, keeps the first of each day in `timeZone`
    /// (from it the whole rest of that day can be restored by replay) and drops the others.
    public static func thin(_ snapshots: [SnapshotMetadata], before thinBefore: Date, timeZone: TimeZone = TimeZone(identifier: "UTC")!) -> [Decision] {
        thin(snapshots, before: thinBefore, perHour: false, timeZone: timeZone)
    }

    /// The two tiers of `snapshot thin`: one a day before `dailyBefore`, one an hour before
    /// `hourlyBefore` (the first of a day is also the first of its hour, so the tiers agree).
    public static func thin(_ snapshots: [SnapshotMetadata], hourlyBefore: Date, dailyBefore: Date,
                            timeZone: TimeZone = TimeZone(identifier: "UTC")!) -> [Decision] {
        let daily = thin(snapshots, before: dailyBefore, perHour: false, timeZone: timeZone)
        let doomed = Set(daily.map(\.name))
        let hourly = thin(snapshots, before: hourlyBefore, perHour: true, timeZone: timeZone).filter { !doomed.contains($0.name) }
        let reasons = Dictionary((daily + hourly).map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        return snapshots.sorted { $0.checkpointTime < $1.checkpointTime }.compactMap { reasons[$0.name] }
    }

    static func thin(_ snapshots: [SnapshotMetadata], before thinBefore: Date, perHour: Bool, timeZone: TimeZone) -> [Decision] {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        var seen = Set<DateComponents>()
        var result: [Decision] = []
        let units: Set<Calendar.Component> = perHour ? [.year, .month, .day, .hour] : [.year, .month, .day]
        for snapshot in snapshots.sorted(by: { $0.checkpointTime < $1.checkpointTime }) where snapshot.checkpointTime < thinBefore {
            let slot = calendar.dateComponents(units, from: snapshot.checkpointTime)
            if !seen.insert(slot).inserted {
                let day = String(format: "%04d-%02d-%02d", slot.year!, slot.month!, slot.day!)
                let reason = perHour
                    ? "not the first of \(day) \(String(format: "%02d", slot.hour!)):00, thinned to one an hour"
                    : "not the first of \(day), thinned to one a day"
                result.append(Decision(name: snapshot.name, reason: reason))
            }
        }
        return result
    }

    /// The oldest WAL position anything still needs: the REDO point of every kept snapshot,
    /// every clone and the standby. nil when nothing is known (then no WAL may be deleted).
    public static func oldestNeededLSN(_ redoPoints: [LSN]) -> LSN? { redoPoints.min() }

    /// Segments (of any timeline) wholly before the segment holding `cutoff`. History files
    /// and `.partial` segments are never deleted.
    public static func walToDelete(_ entries: [WALArchive.Entry], cutoff: LSN, segmentSize: UInt64) -> [WALArchive.Entry] {
        let cutoffSegment = cutoff.segmentNumber(segmentSize: segmentSize)
        return entries.filter { entry in
            guard !entry.name.isHistory, !entry.name.isPartial, let n = entry.name.segmentNumber(segmentSize: segmentSize) else { return false }
            return n < cutoffSegment
        }
    }
}

extension Container {
    public struct RetentionPlan: Sendable {
        public var snapshots: [Retention.Decision]
        public var walCutoff: LSN?
        public var wal: [WALArchive.Entry]
        /// Why no WAL may be deleted this time (a clone or snapshot whose needs are unknown).
        public var walBlockedBy: [String] = []
    }

    /// `EXPIRE_DATE` / `THIN_DAILY_DATE` / `THIN_HOURLY_DATE` override the configured spans
    /// (as in the original tool).
    func boundary(_ variable: String, span: TimeSpan, now: Date) throws -> Date {
        if let text = ProcessInfo.processInfo.environment[variable], !text.isEmpty {
            return try TargetTimeParser.parse(text)
        }
        return now.addingTimeInterval(-Double(span.seconds))
    }

    /// What `snapshot expire` (or `thin`) would delete.
    public func retentionPlan(thin: Bool, now: Date = Date()) async throws -> RetentionPlan {
        let all = try snapshots.list()
        let decisions = thin
            ? Retention.thin(all, hourlyBefore: try boundary("THIN_HOURLY_DATE", span: config.thinHourlyAfter, now: now),
                             dailyBefore: try boundary("THIN_DAILY_DATE", span: config.thinDailyAfter, now: now),
                             timeZone: TimeZone(identifier: config.thinTimeZone) ?? TimeZone(identifier: "UTC")!)
            : Retention.expire(all, before: try boundary("EXPIRE_DATE", span: config.expireAfter, now: now))
        let doomed = Set(decisions.map(\.name))
        let kept = all.filter { !doomed.contains($0.name) }
        var plan = RetentionPlan(snapshots: decisions, walCutoff: nil, wal: [])
        guard !thin, !kept.isEmpty else { return plan }
        var needed = kept.map(\.redoLSN)
        let binaries = try await binaries()
        // Clones still in recovery and snapshots without readable metadata (WALExpiryHolds).
        let holds = await walExpiryHolds(listed: all, binaries: binaries)
        for note in holds.notes { logger.notice("\(note)") }
        for warning in holds.warnings { logger.warning("\(warning)") }
        guard holds.blockers.isEmpty else {
            for blocker in holds.blockers { logger.warning("\(blocker)") }
            plan.walBlockedBy = holds.blockers
            return plan
        }
        needed += holds.redoPoints
        if standby.exists {
            needed.append(try await ControlData.read(dataDirectory: layout.standby, binaries: binaries).redoLocation)
        }
        guard let cutoff = Retention.oldestNeededLSN(needed) else { return plan }
        plan.walCutoff = cutoff
        let segmentSize = walSegmentSize
        plan.wal = Retention.walToDelete(try WALArchive(directory: layout.walArchive).entries(includeRetired: true), cutoff: cutoff, segmentSize: segmentSize)
        return plan
    }

    /// Carries out a plan: deletes the snapshots, then the WAL no kept snapshot, clone or the
    /// standby needs. Each failure is logged; one summary error at the end.
    public func apply(_ plan: RetentionPlan) throws {
        snapshots.removeLeftovers(logger: logger)
        var failures: [String] = []
        for decision in plan.snapshots {
            do {
                try snapshots.delete(decision.name)
                logger.info("deleted snapshot \(decision.name) (\(decision.reason))")
            } catch {
                logger.error("could not delete snapshot \(decision.name): \(error)")
                failures.append(decision.name)
            }
        }
        guard failures.isEmpty else {
            throw PGArchiveError("\(failures.count) of \(plan.snapshots.count) snapshots could not be deleted (\(failures.joined(separator: ", "))); no WAL was deleted")
        }
        var bytes: Int64 = 0
        for entry in plan.wal {
            if unlink(entry.path) == 0 {
                bytes += entry.size
                FaultInjection.point("expire-deleting-wal")
            } else {
                failures.append(entry.name.fileName)
                logger.error("could not delete \(entry.path): \(String(cString: strerror(errno)))")
            }
        }
        if !plan.wal.isEmpty, let cutoff = plan.walCutoff {
            logger.info("deleted \(plan.wal.count - failures.count) WAL segments before \(cutoff) (\(ByteCount.human(bytes)))")
        }
        if !failures.isEmpty { throw PGArchiveError("\(failures.count) WAL files could not be deleted") }
    }
}
