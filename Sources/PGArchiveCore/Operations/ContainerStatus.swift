import Foundation
import Postgres

/// A point-in-time picture of a container for `container status [--json]`, the dashboard,
/// `check` and `metrics`. Gathering it never changes anything and needs no lock.
/// The JSON form is a stable schema (`schemaVersion`), documented in MANUAL.md.
public struct ContainerStatus: Sendable, Codable {
    /// ok: everything runs; degraded: something needs attention (one daemon down, the
    /// upstream unreachable, the slot inactive, a segment missing, a cron job failed);
    /// down: the container does not work at all (both daemons stopped, or its slot is gone).
    public enum Health: String, Sendable, Codable {
        case ok, degraded, down
        public var exitCode: Int32 { self == .ok ? 0 : (self == .degraded ? 1 : 2) }
    }

    public var schemaVersion = 1
    public struct Daemon: Sendable, Codable {
        public var state: String
        public var pid: Int32?
        public var detail: String
    }

    public var container: String
    public var retired: Bool
    public var receiver: Daemon
    public var standby: Daemon
    public var upstreamReachable: Bool
    public var upstreamError: String?
    public var upstreamLSN: String?
    /// Set when the upstream is no longer the cluster the container recorded (a major upgrade,
    /// or another database system): pg_receivewal is stopped until `container resync`.
    public var upstreamChange: UpstreamChange?
    public var slotActive: Bool?
    public var slotRestartLSN: String?
    public var slotWALStatus: String?
    /// Why the upstream invalidated the slot (`pg_replication_slots.invalidation_reason`,
    /// PostgreSQL 17 and later; absent on older servers and for a valid slot).
    public var slotInvalidationReason: String?
    /// WAL the slot makes the upstream keep (its position − restart_lsn), in bytes.
    public var slotRetainedBytes: UInt64?
    /// The slot's `safe_wal_size` (absent when unlimited or lost).
    public var slotSafeWALSizeBytes: Int64?
    /// The upstream's `max_slot_wal_keep_size` in bytes; -1 unlimited. See SlotRetention.
    public var upstreamMaxSlotWALKeepSizeBytes: Int64?
    /// WAL position pg_receivewal reported as flushed (from the upstream's pg_stat_replication).
    public var receivedLSN: String?
    /// WAL position pg_receivewal reported as written (not yet fsynced). Without --synchronous
    /// it flushes only at segment ends, so this, not `receivedLSN`, shows it is keeping up.
    public var receiverWriteLSN: String?
    /// The container's `synchronous` setting (pg_receivewal runs with --synchronous).
    public var synchronous: Bool?
    /// The application_name pg_receivewal connects with (for synchronous_standby_names).
    public var receiverApplicationName: String?
    /// How the upstream treats the receiver: pg_stat_replication.sync_state of the slot's
    /// walsender (async, potential, sync, quorum); absent when nothing streams or unreachable.
    public var receiverSyncState: String?
    public var replayedLSN: String?
    public var lastReplayedTransaction: Date?
    public var replayLagBytes: UInt64?
    public var replayLagSeconds: Double?
    public var newestSegment: String?
    public var newestSegmentTime: Date?
    public var missingSegments: [String]
    /// Last run of each cron job that has run.
    public var cronRuns: [CronRun] = []
    /// The last `pgarchive verify` (run/verify.json), if any ran.
    public var lastVerify: VerifyRecord?
    public var snapshotCount = 0
    public var newestSnapshot: String?
    public var newestSnapshotAgeSeconds: Double?
    /// The earliest time a clone can be recovered to (the oldest snapshot's restorable-from time).
    public var oldestRestorableTime: Date?
    /// About the newest time a clone can be recovered to: when the newest WAL arrived.
    public var newestRestorableTime: Date?
    public var cloneCount = 0
    public var clonesRunning = 0
    /// The newest complete `dump create` run (its name, a UTC time) and the moment its data
    /// shows (`DumpRun.dataAsOf`, the oldest of its databases'); absent without dumps.
    public var newestDumpRun: String?
    public var newestDumpDataAsOf: Date?
    /// Bytes of all files in wal_archive/ (compressed sizes for compressed segments).
    public var walArchiveBytes: Int64 = 0
    public var fileSystemSizeBytes: Int64?
    public var fileSystemFreeBytes: Int64?
    /// `disk_warning` and `disk_critical` in bytes on this file system.
    public var fileSystemWarningBytes: Int64?
    public var fileSystemCriticalBytes: Int64?
    /// Current "No space left on device" errors in the logs of pg_receivewal and the
    /// standby, one line each naming the log (absent when there are none).
    public var noSpaceErrors: [String]?
    /// The standby's tablespaces (absent when it has none).
    public var tablespaces: [TablespaceStatus]?
    /// Set when the standby stopped before a CREATE TABLESPACE (TablespaceGate), with the remedy.
    public var tablespaceRefusal: String?
    public var health: Health = .ok
    /// One line per thing that is not as it should be.
    public var problems: [String] = []

    public var healthy: Bool { health == .ok }

    /// Sets `health` and `problems` from the gathered facts.
    public mutating func evaluate() {
        var problems: [String] = []
        var down = false
        if !missingSegments.isEmpty { problems.append("\(missingSegments.count) WAL segment(s) missing, first \(missingSegments[0])") }
        if let upstreamChange, !retired {
            problems.append(upstreamChange.message)
            down = true
        }
        if !retired {
            if receiver.state != "running" { problems.append("pg_receivewal is \(receiver.state): no new WAL is being archived") }
            if standby.state != "running" { problems.append("the standby is \(standby.state)") }
            // Both daemons stopped: the container is down (stopped, or crashed entirely).
            if receiver.state != "running" && standby.state != "running" { down = true }
            if !upstreamReachable { problems.append("the upstream is unreachable") }
            else if slotActive == nil { problems.append("the replication slot is missing on the upstream"); down = true }
            else if slotActive == false { problems.append("the replication slot is inactive") }
            problems += slotRetentionProblems
        }
        if let free = fileSystemFreeBytes, let warning = fileSystemWarningBytes, free < warning {
            let critical = fileSystemCriticalBytes.map { free < $0 } ?? false
            problems.append("\(critical ? "almost no" : "little") free space on the container's file system: \(ByteCount.human(free)) of \(fileSystemSizeBytes.map(ByteCount.human) ?? "?") (below disk_\(critical ? "critical" : "warning"), \(ByteCount.human(critical ? fileSystemCriticalBytes ?? 0 : warning))); free space or grow the file system before WAL stops arriving")
        }
        for error in noSpaceErrors ?? [] {
            problems.append("no space left on the container's file system: \(error); free space, then `pgarchive cron watchdog` restarts what stopped and the archive catches up from the slot")
        }
        problems += tablespaceProblems
        for run in cronRuns where run.result == .failed { problems.append("cron \(run.job) failed: \(run.message)") }
        if let lastVerify, lastVerify.result != .passed,
           !cronRuns.contains(where: { $0.job == "verify" && $0.result == .failed && $0.finishedAt >= lastVerify.finishedAt }) {
            problems.append("the last verify (\(ISO8601.utc(lastVerify.finishedAt))) \(lastVerify.result == .failed ? "failed" : "could not run"): \(lastVerify.summary)")
        }
        self.problems = problems
        health = down ? .down : (problems.isEmpty ? .ok : .degraded)
    }

    public static func gather(_ container: Container) -> ContainerStatus {
        let layout = container.layout
        func daemon(_ state: DaemonState) -> Daemon {
            switch state {
            case .running(let pid): return Daemon(state: "running", pid: pid, detail: state.description)
            case .stopped: return Daemon(state: "stopped", pid: nil, detail: state.description)
            case .stalePIDFile(let pid): return Daemon(state: "stale", pid: pid, detail: state.description)
            }
        }
        // One directory scan serves the newest segment, the gap check and the archive's size.
        let allEntries = (try? WALArchive(directory: layout.walArchive).entries(includeRetired: true)) ?? []
        let entries = allEntries.filter { ($0.path as NSString).deletingLastPathComponent == layout.walArchive }
        let newest = entries.last { !$0.name.isHistory }
        var status = ContainerStatus(
            container: layout.root, retired: container.isRetired,
            receiver: daemon(WALReceiver(container: container).state()),
            standby: daemon(Standby(container: container).state()),
            upstreamReachable: false, upstreamError: nil,
            newestSegment: newest?.name.fileName, newestSegmentTime: newest?.modified,
            missingSegments: WALArchive.missingSegments(in: entries, segmentSize: container.walSegmentSize).map(\.fileName),
            cronRuns: Container.cronJobs.compactMap { container.lastCronRun($0) },
            lastVerify: container.lastVerify())
        status.synchronous = container.config.synchronous
        status.receiverApplicationName = container.config.receiverApplicationName

        var upstreamLSN: LSN?
        do {
            let upstream = try container.upstreamConnection(connectTimeout: 5)
            defer { upstream.close() }
            status.upstreamReachable = true
            upstreamLSN = try upstream.currentWALLSN()
            status.upstreamLSN = upstreamLSN?.description
            status.upstreamChange = (try? container.upstreamChange(connection: upstream)) ?? container.recordedUpstreamChange()
            // PostgreSQL 17 release notes: "Add column pg_replication_slots.invalidation_reason
            // to report the reason for invalid slots"; before 17 only wal_status = lost tells.
            let reason = upstream.serverVersionNumber >= 170000 ? "s.invalidation_reason" : "NULL::text AS invalidation_reason"
            let rows = try upstream.query("""
                SELECT s.active, s.restart_lsn::text AS restart_lsn, s.wal_status, \(reason), r.flush_lsn::text AS flush_lsn, r.write_lsn::text AS write_lsn, r.sync_state
                FROM pg_replication_slots s LEFT JOIN pg_stat_replication r ON r.pid = s.active_pid
                WHERE s.slot_name = $1
                """, [container.config.slot]).rows
            if let row = rows.first {
                status.slotActive = row["active"] == "t"
                status.slotRestartLSN = row["restart_lsn"]
                status.slotWALStatus = row["wal_status"]
                status.slotInvalidationReason = row["invalidation_reason"]
                status.receivedLSN = row["flush_lsn"]
                status.receiverSyncState = row["sync_state"]
                status.receiverWriteLSN = row["write_lsn"]
                status.apply(SlotRetention.query(upstream, slot: container.config.slot))
            }
        } catch {
            status.upstreamError = "\(error)"
            if status.upstreamChange == nil { status.upstreamChange = container.recordedUpstreamChange() }
        }
        let snapshots = (try? container.snapshots.list()) ?? []
        status.snapshotCount = snapshots.count
        status.newestSnapshot = snapshots.last?.name
        status.newestSnapshotAgeSeconds = snapshots.last.map { Date().timeIntervalSince($0.checkpointTime) }
        status.oldestRestorableTime = snapshots.first?.consistentFrom
        status.newestRestorableTime = newest?.modified
        let clones = (try? container.clones.list()) ?? []
        status.cloneCount = clones.count
        status.clonesRunning = clones.filter { container.clones.state($0.name).isRunning }.count
        let dumpStore = container.dumpStore
        let newestRuns = dumpStore.databases().compactMap { dumpStore.runs($0).last }
        if let newestRun = newestRuns.map(\.name).max() {
            status.newestDumpRun = newestRun
            status.newestDumpDataAsOf = newestRuns.filter { $0.name == newestRun }.map(\.dataAsOf).min()
        }
        status.walArchiveBytes = allEntries.reduce(0) { $0 + $1.size }
        if let fs = DiskSpace.fileSystem(of: layout.root) {
            status.fileSystemSizeBytes = fs.size
            status.fileSystemFreeBytes = fs.free
            status.fileSystemWarningBytes = container.config.diskWarning.bytes(ofSize: fs.size)
            status.fileSystemCriticalBytes = container.config.diskCritical.bytes(ofSize: fs.size)
        }
        if !status.retired {
            var errors: [String] = []
            if let line = DiskSpace.currentNoSpaceLine(logFile: layout.receiverLog, progressMarkers: DiskSpace.receiverProgressMarkers) {
                errors.append("\(layout.receiverLog) says: \(line)")
            }
            if let line = DiskSpace.currentNoSpaceLine(logFile: layout.standbyLog, progressMarkers: DiskSpace.standbyProgressMarkers) {
                errors.append("\(layout.standbyLog) says: \(line)")
            }
            // Its log may have lost the error (it lives on the same file system), the short
            // segment it leaves behind cannot.
            for path in WALReceiver(container: container).tornPartialSegments(minimumAge: 30) {
                errors.append("pg_receivewal could not finish zero-filling \((path as NSString).lastPathComponent) (\(LogFile.size(path)) bytes): No space left on device")
            }
            status.noSpaceErrors = errors.isEmpty ? nil : errors
        }

        if status.standby.state == "running", let standby = try? container.standbyConnection(connectTimeout: 3) {
            defer { standby.close() }
            if let replayed = try? standby.lastReplayLSN() {
                status.replayedLSN = replayed.description
                if let upstreamLSN { status.replayLagBytes = upstreamLSN.value > replayed.value ? upstreamLSN.value - replayed.value : 0 }
            }
            status.lastReplayedTransaction = try? standby.lastTransactionReplayTimestamp()
            if let lag = status.replayLagBytes {
                // No lag in bytes means no lag in time; otherwise the age of the last replayed
                // commit bounds how far behind the standby is.
                status.replayLagSeconds = lag == 0 ? 0 : status.lastReplayedTransaction.map { max(0, Date().timeIntervalSince($0)) }
            }
        }
        let tablespaces = TablespaceStatus.gather(container)
        status.tablespaces = tablespaces.isEmpty ? nil : tablespaces
        status.tablespaceRefusal = status.retired ? nil : TablespaceGate.refusal(layout: layout)?.message
        status.evaluate()
        return status
    }

    /// ok, warning (free space below `disk_warning`, or below `minFreePercent` when given)
    /// or critical (below `disk_critical`, or half of `minFreePercent`; or a daemon's log
    /// reports "No space left on device"); nil when the file system's size is unknown.
    /// Thresholds default to 10 % and 5 % on a status that carries none.
    public func diskSpaceLevel(minFreePercent: Double? = nil) -> HealthCheck.Level? {
        if !(noSpaceErrors ?? []).isEmpty { return .critical }
        guard let size = fileSystemSizeBytes, let free = fileSystemFreeBytes, size > 0 else { return nil }
        let warning, critical: Int64
        if let minFreePercent {
            warning = DiskThreshold.percent(minFreePercent).bytes(ofSize: size)
            critical = DiskThreshold.percent(minFreePercent / 2).bytes(ofSize: size)
        } else {
            warning = fileSystemWarningBytes ?? DiskThreshold.percent(10).bytes(ofSize: size)
            critical = fileSystemCriticalBytes ?? DiskThreshold.percent(5).bytes(ofSize: size)
        }
        return DiskSpace.level(free: free, warningBytes: warning, criticalBytes: critical)
    }

    /// Human-readable lines for `container status`.
    public func rendered(now: Date = Date()) -> String {
        func ago(_ date: Date?) -> String {
            guard let date else { return "" }
            return " (\(TimeSpan(seconds: Int64(max(0, now.timeIntervalSince(date)))).approximate) ago)"
        }
        var lines: [String] = []
        lines.append("container:        \(container)\(retired ? " (retired: no streaming, no standby; snapshots and WAL kept)" : "")")
        lines.append("pg_receivewal:    \(receiver.detail)")
        lines.append("standby:          \(standby.detail)")
        if upstreamReachable {
            lines.append("upstream:         reachable, current WAL position \(upstreamLSN ?? "?")")
            if let slotActive {
                lines.append("slot:             \(slotActive ? "active" : "inactive (nothing is streaming from it)"), restart_lsn \(slotRestartLSN ?? "-"), wal_status \(slotWALStatus ?? "-")")
                lines.append("slot retains:     \(slotRetainedBytes.map { ByteCount.human(Int64(clamping: $0)) } ?? "?") of WAL on the upstream; safe_wal_size \(slotSafeWALSizeBytes.map(ByteCount.human) ?? "-"), max_slot_wal_keep_size \(upstreamMaxSlotWALKeepSizeBytes.map { $0 < 0 ? "-1 (unlimited)" : ByteCount.human($0) } ?? "?")")
            } else if !retired {
                lines.append("slot:             MISSING on the upstream")
            }
        } else {
            lines.append("upstream:         UNREACHABLE: \(upstreamError ?? "unknown error")")
        }
        if let upstreamChange, !retired {
            lines.append("upstream CHANGED: PostgreSQL \(upstreamChange.recordedMajorVersion) → \(upstreamChange.upstreamServerVersion), system identifier \(upstreamChange.recordedSystemIdentifier) → \(upstreamChange.upstreamSystemIdentifier); pg_receivewal stays stopped; run: \(upstreamChange.remedy)")
        }
        lines.append("last received:    \(receivedLSN ?? "-")\(receiverWriteLSN.map { " flushed, \($0) written" } ?? "")")
        lines.append("sync state:       \(receiverSyncState ?? "-") (application_name \(receiverApplicationName ?? "-"), synchronous = \(synchronous == true ? "on" : "off"))")
        lines.append("last replayed:    \(replayedLSN ?? "-")\(lastReplayedTransaction.map { ", last transaction at \(ISO8601.utc($0))\(ago($0))" } ?? "")")
        if let replayLagBytes {
            lines.append("replay lag:       \(replayLagBytes) bytes\(replayLagSeconds.map { String(format: ", %.0f s", $0) } ?? "")")
        }
        lines.append("newest segment:   \(newestSegment ?? "-")\(newestSegmentTime.map { " written \(ISO8601.utc($0))\(ago($0))" } ?? "")")
        if !missingSegments.isEmpty {
            lines.append("MISSING segments: \(missingSegments.prefix(10).joined(separator: ", "))\(missingSegments.count > 10 ? " and \(missingSegments.count - 10) more" : "")")
        }
        if !cronRuns.isEmpty { lines.append("cron jobs:") }
        for run in cronRuns {
            lines.append("  " + run.job.padding(toLength: 28, withPad: " ", startingAt: 0) + "\(run.result.rawValue) at \(ISO8601.utc(run.finishedAt))\(ago(run.finishedAt))\(run.result == .ok ? "" : ": " + run.message)")
        }
        if let v = lastVerify {
            lines.append("last verify:      \(v.result.rawValue.uppercased()) at \(ISO8601.utc(v.finishedAt))\(ago(v.finishedAt)), \(v.restore ? "restored \(v.snapshots.isEmpty ? "nothing" : v.snapshots.joined(separator: ", "))" : "offline checks only") in \(String(format: "%.0f", v.durationSeconds)) s\(v.result == .passed ? "" : ": " + v.summary)")
        } else {
            lines.append("last verify:      never (`pgarchive verify --restore`)")
        }
        lines.append("snapshots:        \(snapshotCount)\(newestSnapshot.map { ", newest \($0)" } ?? "")\(newestSnapshotAgeSeconds.map { " (\(TimeSpan(seconds: Int64($0)).approximate) old)" } ?? "")")
        if let oldestRestorableTime {
            lines.append("restorable:       from \(ISO8601.utc(oldestRestorableTime)) to about \(newestRestorableTime.map(ISO8601.utc) ?? "now")")
        }
        lines += renderedTablespaces
        lines.append("clones:           \(cloneCount)\(cloneCount > 0 ? " (\(clonesRunning) running)" : "")")
        if let newestDumpRun {
            lines.append("dumps:            newest run \(newestDumpRun)\(newestDumpDataAsOf.map { ", data as of \(ISO8601.utc($0))\(ago($0))" } ?? "")")
        }
        lines.append("WAL archive:      \(ByteCount.human(walArchiveBytes))")
        if let size = fileSystemSizeBytes, let free = fileSystemFreeBytes, size > 0 {
            let level = diskSpaceLevel()
            let note = level == .critical ? " FULL" : (level == .warning ? " LOW" : "")
            lines.append("file system:     \(note) \(ByteCount.human(free)) free of \(ByteCount.human(size)) (\(String(format: "%.1f", Double(free) * 100 / Double(size)))%)")
        } else {
            lines.append("file system:      size unknown")
        }
        lines.append("health:           \(health == .ok ? "ok" : health.rawValue.uppercased())")
        for problem in problems { lines.append("  - \(problem)") }
        return lines.joined(separator: "\n") + "\n"
    }
}
