import Foundation
import Postgres

/// `pgarchive check`: sanity checks with one line each and a Nagios exit code, like
/// `barman check`. Built on ContainerStatus, so it changes nothing and takes no lock.
public struct HealthCheck: Sendable {
    public enum Level: Int, Sendable, Comparable, Codable {
        case ok = 0, warning = 1, critical = 2, unknown = 3
        public static func < (a: Level, b: Level) -> Bool { a.rawValue < b.rawValue }
        public var label: String { ["OK", "WARNING", "CRITICAL", "UNKNOWN"][rawValue] }
    }

    public struct Result: Sendable, Codable, Equatable {
        public var name: String
        public var level: Level
        public var detail: String
    }

    public struct Limits: Sendable {
        public var snapshotMaxAge = TimeSpan(seconds: 25 * 3600)
        public var maxReplayLag = TimeSpan(seconds: 3600)
        public var walMaxSilence = TimeSpan(seconds: 3600)
        /// Overrides the container's `disk_warning` (and `disk_critical`, as half of it).
        public var minFreePercent: Double?
        public var verifyMaxAge = TimeSpan(seconds: 8 * 86400)
        public init() {}
    }

    /// Evaluates the checks on a gathered status (pure: unit-testable with a made-up status).
    public static func evaluate(_ s: ContainerStatus, oldestSnapshotRedoPresent: Bool?, limits: Limits, now: Date = Date()) -> [Result] {
        var results: [Result] = []
        func add(_ name: String, _ level: Level, _ detail: String) { results.append(Result(name: name, level: level, detail: detail)) }
        if s.retired {
            add("container", .ok, "retired: no streaming expected")
        } else {
            add("upstream reachable", s.upstreamReachable ? .ok : .critical,
                s.upstreamReachable ? "current WAL position \(s.upstreamLSN ?? "?")" : (s.upstreamError ?? "unreachable"))
            if let change = s.upstreamChange { add("upstream identity", .critical, change.message) }
            switch s.slotActive {
            case .some(true): add("replication slot active", .ok, "restart_lsn \(s.slotRestartLSN ?? "-"), wal_status \(s.slotWALStatus ?? "-")")
            case .some(false): add("replication slot active", .warning, "the slot exists but nothing streams from it")
            case .none: add("replication slot active", s.upstreamReachable ? .critical : .unknown, s.upstreamReachable ? "the slot is missing on the upstream" : "upstream unreachable")
            }
            if let retention = SlotRetention.check(s) { results.append(retention) }
            if s.receiver.state != "running" {
                add("WAL arriving", .critical, "pg_receivewal is \(s.receiver.state)")
            } else if let written = s.newestSegmentTime, now.timeIntervalSince(written) > Double(limits.walMaxSilence.seconds),
                      let up = s.upstreamLSN.flatMap(LSN.init), let got = (s.receiverWriteLSN ?? s.receivedLSN ?? s.slotRestartLSN).flatMap(LSN.init), up > got {
                add("WAL arriving", .warning, "nothing written for \(TimeSpan(seconds: Int64(now.timeIntervalSince(written))).approximate) while the upstream is \(up.value - got.value) bytes ahead")
            } else {
                add("WAL arriving", .ok, "pg_receivewal pid \(s.receiver.pid.map(String.init) ?? "?"), newest \(s.newestSegment ?? "-")")
            }
            // Synchronous mode only protects anything when the upstream waits for the receiver;
            // an upstream that waits for a receiver without --synchronous stalls its commits.
            let syncOnUpstream = s.receiverSyncState == "sync" || s.receiverSyncState == "quorum"
            let name = s.receiverApplicationName ?? "pg_receivewal"
            if s.synchronous == true {
                if syncOnUpstream {
                    add("synchronous receiver", .ok, "the upstream treats \(name) as \(s.receiverSyncState ?? "?")")
                } else if let state = s.receiverSyncState {
                    add("synchronous receiver", .warning, "synchronous = on but the upstream treats \(name) as \(state): commits do not wait for the archive; add it to the upstream's synchronous_standby_names")
                } else {
                    add("synchronous receiver", s.upstreamReachable ? .warning : .unknown, s.upstreamReachable ? "synchronous = on but \(name) is not streaming" : "upstream unreachable")
                }
            } else if syncOnUpstream {
                add("synchronous receiver", .warning, "the upstream waits for \(name) (\(s.receiverSyncState ?? "?")) but synchronous = off: pg_receivewal confirms only at segment ends, so upstream commits stall; set synchronous = on")
            }
            if s.standby.state != "running" {
                add("standby replaying", .critical, "the standby is \(s.standby.state)")
            } else if let lag = s.replayLagSeconds, lag > Double(limits.maxReplayLag.seconds) {
                add("standby replaying", .warning, "replay lag \(TimeSpan(seconds: Int64(lag)).approximate) exceeds \(limits.maxReplayLag)")
            } else {
                add("standby replaying", .ok, "replayed \(s.replayedLSN ?? "-")\(s.replayLagBytes.map { ", \($0) bytes behind" } ?? "")")
            }
        }
        if let age = s.newestSnapshotAgeSeconds {
            add("newest snapshot", age > Double(limits.snapshotMaxAge.seconds) ? .warning : .ok,
                "\(s.newestSnapshot ?? "?") is \(TimeSpan(seconds: Int64(age)).approximate) old (limit \(limits.snapshotMaxAge))")
        } else {
            add("newest snapshot", .critical, "there are no snapshots: nothing can be restored")
        }
        if !s.missingSegments.isEmpty {
            add("no WAL gap", .critical, "\(s.missingSegments.count) segment(s) missing, first \(s.missingSegments[0])")
        } else if oldestSnapshotRedoPresent == false {
            add("no WAL gap", .critical, "the oldest snapshot's REDO segment is not in the archive")
        } else {
            add("no WAL gap", .ok, "contiguous from the oldest snapshot on")
        }
        if let level = s.diskSpaceLevel(minFreePercent: limits.minFreePercent) {
            var detail = "?"
            if let size = s.fileSystemSizeBytes, let free = s.fileSystemFreeBytes, size > 0 {
                detail = String(format: "%.1f%% free (%@ of %@)", Double(free) * 100 / Double(size), ByteCount.human(free), ByteCount.human(size))
                if limits.minFreePercent == nil, level != .ok, let threshold = level == .critical ? s.fileSystemCriticalBytes : s.fileSystemWarningBytes, free < threshold {
                    detail += ", below disk_\(level == .critical ? "critical" : "warning") (\(ByteCount.human(threshold)))"
                }
            }
            if let errors = s.noSpaceErrors, !errors.isEmpty {
                detail = "No space left on device: " + errors.joined(separator: "; ") + "; " + detail
            }
            add("free space", level, detail)
        } else if let errors = s.noSpaceErrors, !errors.isEmpty {
            add("free space", .critical, "No space left on device: " + errors.joined(separator: "; "))
        } else {
            add("free space", .unknown, "cannot read the file system's size")
        }
        results.append(tablespaceResult(s))
        let failed = s.cronRuns.filter { $0.result == .failed }
        add("cron jobs", failed.isEmpty ? .ok : .warning,
            failed.isEmpty ? "\(s.cronRuns.count) job(s) ran fine last time" : failed.map { "\($0.job) failed: \($0.message)" }.joined(separator: "; "))
        // The last verify: critical when it failed, warning when overdue. A container younger
        // than the bound (its oldest snapshot included) is not overdue yet.
        if let v = s.lastVerify {
            let age = now.timeIntervalSince(v.finishedAt)
            let what = "\(v.restore ? "restore test" : "offline checks") \(v.result.rawValue) at \(ISO8601.utc(v.finishedAt)), \(TimeSpan(seconds: Int64(max(0, age))).approximate) ago"
            if v.result != .passed {
                add("last verification", .critical, "\(what): \(v.summary)")
            } else if age > Double(limits.verifyMaxAge.seconds) {
                add("last verification", .warning, "\(what) (limit \(limits.verifyMaxAge)); is `cron verify` installed?")
            } else {
                add("last verification", .ok, what)
            }
        } else if let oldest = s.oldestRestorableTime, now.timeIntervalSince(oldest) > Double(limits.verifyMaxAge.seconds) {
            add("last verification", .warning, "no verification yet; run `pgarchive verify --restore` (cron verify does it daily)")
        } else {
            add("last verification", .ok, "none yet (due within \(limits.verifyMaxAge) of the first snapshot)")
        }
        return results
    }

    /// The exit level of a set of results: the worst, except that a CRITICAL finding beats
    /// an UNKNOWN one (an unreachable upstream makes the slot's state unknown, and monitoring
    /// must still see the critical problem, not "unknown").
    public static func overall(_ results: [Result]) -> Level {
        let levels = results.map(\.level)
        if levels.contains(.critical) { return .critical }
        return levels.max() ?? .unknown
    }

    public static func run(_ container: Container, limits: Limits) -> (status: ContainerStatus, results: [Result]) {
        let status = ContainerStatus.gather(container)
        var redoPresent: Bool?
        if let oldest = try? container.snapshots.list().first {
            let names = ((try? WALArchive(directory: container.layout.walArchive).entries(includeRetired: true)) ?? []).map(\.name.baseName)
            redoPresent = names.contains(oldest.redoSegment.baseName)
        }
        return (status, evaluate(status, oldestSnapshotRedoPresent: redoPresent, limits: limits))
    }
}
