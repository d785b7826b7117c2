import Foundation
import Postgres

/// A point-in-time picture of a container for `container status` (and later JSON,
/// dashboard and metrics). Gathering it never changes anything.
public struct ContainerStatus: Sendable, Codable {
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
    public var slotActive: Bool?
    public var slotRestartLSN: String?
    public var slotWALStatus: String?
    /// WAL position pg_receivewal reported as flushed (from the upstream's pg_stat_replication).
    public var receivedLSN: String?
    public var replayedLSN: String?
    public var lastReplayedTransaction: Date?
    public var replayLagBytes: UInt64?
    public var replayLagSeconds: Double?
    public var newestSegment: String?
    public var newestSegmentTime: Date?
    public var missingSegments: [String]
    /// Last run of each cron job that has run.
    public var cronRuns: [CronRun] = []

    /// Healthy when both daemons run, the upstream answers and streams into an active slot,
    /// and no segment is missing; a retired container only needs its archive intact.
    public var healthy: Bool {
        if retired { return missingSegments.isEmpty }
        return receiver.state == "running" && standby.state == "running" && missingSegments.isEmpty
            && upstreamReachable && slotActive == true
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
        let archive = WALArchive(directory: layout.walArchive)
        let newest = try? archive.newestSegment()
        var status = ContainerStatus(
            container: layout.root, retired: container.isRetired,
            receiver: daemon(WALReceiver(container: container).state()),
            standby: daemon(Standby(container: container).state()),
            upstreamReachable: false, upstreamError: nil,
            newestSegment: newest?.name.fileName, newestSegmentTime: newest?.modified,
            missingSegments: ((try? archive.missingSegments()) ?? []).map(\.fileName),
            cronRuns: Container.cronJobs.compactMap { container.lastCronRun($0) })

        var upstreamLSN: LSN?
        do {
            let upstream = try container.upstreamConnection(connectTimeout: 5)
            defer { upstream.close() }
            status.upstreamReachable = true
            upstreamLSN = try upstream.currentWALLSN()
            status.upstreamLSN = upstreamLSN?.description
            let rows = try upstream.query("""
                SELECT s.active, s.restart_lsn::text AS restart_lsn, s.wal_status, r.flush_lsn::text AS flush_lsn
                FROM pg_replication_slots s LEFT JOIN pg_stat_replication r ON r.pid = s.active_pid
                WHERE s.slot_name = $1
                """, [container.config.slot]).rows
            if let row = rows.first {
                status.slotActive = row["active"] == "t"
                status.slotRestartLSN = row["restart_lsn"]
                status.slotWALStatus = row["wal_status"]
                status.receivedLSN = row["flush_lsn"]
            }
        } catch {
            status.upstreamError = "\(error)"
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
        return status
    }

    /// Human-readable lines for `container status`.
    public func rendered(now: Date = Date()) -> String {
        func ago(_ date: Date?) -> String {
            guard let date else { return "" }
            return " (\(TimeSpan(seconds: Int64(max(0, now.timeIntervalSince(date))))) ago)"
        }
        var lines: [String] = []
        lines.append("container:        \(container)\(retired ? " (retired: no streaming, no standby; snapshots and WAL kept)" : "")")
        lines.append("pg_receivewal:    \(receiver.detail)")
        lines.append("standby:          \(standby.detail)")
        if upstreamReachable {
            lines.append("upstream:         reachable, current WAL position \(upstreamLSN ?? "?")")
            if let slotActive {
                lines.append("slot:             \(slotActive ? "active" : "inactive (nothing is streaming from it)"), restart_lsn \(slotRestartLSN ?? "-"), wal_status \(slotWALStatus ?? "-")")
            } else if !retired {
                lines.append("slot:             MISSING on the upstream")
            }
        } else {
            lines.append("upstream:         UNREACHABLE: \(upstreamError ?? "unknown error")")
        }
        lines.append("last received:    \(receivedLSN ?? "-")")
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
        lines.append("health:           \(healthy ? "ok" : "DEGRADED")")
        return lines.joined(separator: "\n") + "\n"
    }
}

/// UTC timestamps as `2026-11-21T08:15:00Z`.
public enum ISO8601 {
    public static func utc(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: date)
    }

    /// `2026-11-21T08:15:00.123456Z`: exact to the microsecond, as PostgreSQL keeps time.
    public static func utcMicroseconds(_ date: Date) -> String {
        let literal = TargetTimeParser.postgresLiteral(date) // 2026-11-21 08:15:00.123456+00
        return literal.replacingOccurrences(of: " ", with: "T").replacingOccurrences(of: "+00", with: "Z")
    }
}
