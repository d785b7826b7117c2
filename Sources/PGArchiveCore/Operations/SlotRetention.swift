import Foundation
import Postgres

/// A physical slot makes the upstream keep every WAL segment the archive has not received:
/// while pg_receivewal is down (a dead archive host, a receiver stopped for a weekend) the
/// *production* disk fills up. `max_slot_wal_keep_size` bounds that; past it the upstream
/// invalidates the slot (`wal_status` `unreserved`, then `lost`) and the archive gets a gap
/// that only `container resync` closes. This file measures the risk for status, check and
/// metrics, and gives init its advice.
public struct SlotRetention: Sendable, Equatable {
    /// WAL the slot holds back on the upstream: the upstream's position − restart_lsn.
    public var retainedBytes: UInt64?
    /// `safe_wal_size`: bytes the upstream may still write before the slot is in danger of
    /// being lost; nil when unlimited (or the slot is lost).
    public var safeWALSizeBytes: Int64?
    /// The upstream's `max_slot_wal_keep_size` in bytes; -1: unlimited.
    public var maxSlotWALKeepSizeBytes: Int64?

    /// Reads the figures from the upstream (PostgreSQL 13+ has safe_wal_size and the setting).
    public static func query(_ upstream: Connection, slot: String) -> SlotRetention {
        var result = SlotRetention()
        if let row = try? upstream.query("""
            SELECT (CASE WHEN pg_is_in_recovery() THEN greatest(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())
                         ELSE pg_current_wal_lsn() END - restart_lsn)::bigint::text AS retained,
                   safe_wal_size::text AS safe
            FROM pg_replication_slots WHERE slot_name = $1
            """, [slot]).rows.first {
            result.retainedBytes = row["retained"].flatMap { Int64($0) }.map { UInt64(max(0, $0)) }
            result.safeWALSizeBytes = row["safe"].flatMap { Int64($0) }
        }
        result.maxSlotWALKeepSizeBytes = maxSlotWALKeepSize(upstream)
        return result
    }

    /// `max_slot_wal_keep_size` in bytes (-1 unlimited), or nil when the server has none (< 13).
    public static func maxSlotWALKeepSize(_ upstream: Connection) -> Int64? {
        guard let row = try? upstream.query("SELECT setting, unit FROM pg_settings WHERE name = 'max_slot_wal_keep_size'").rows.first,
              let value = row["setting"].flatMap({ Int64($0) }) else { return nil }
        if value < 0 { return -1 }
        return value * unitBytes(row["unit"] ?? "MB")
    }

    static func unitBytes(_ unit: String) -> Int64 {
        switch unit {
        case "B": return 1
        case "kB": return 1024
        case "GB": return 1 << 30
        case "TB": return 1 << 40
        default: return 1 << 20 // MB, the unit PostgreSQL reports it in
        }
    }

    /// The check line "upstream WAL kept by slot": OK while the slot holds less than half of
    /// max_slot_wal_keep_size, WARNING above, CRITICAL once wal_status is `unreserved` (the
    /// upstream removes that WAL at its next checkpoint) or `lost` (it has: the archive has a
    /// gap). Nil when nothing is known (the upstream unreachable, the slot missing: other lines
    /// say so).
    public static func check(_ s: ContainerStatus) -> HealthCheck.Result? {
        guard !s.retired, s.upstreamReachable, s.slotActive != nil else { return nil }
        let name = "upstream WAL kept by slot"
        let retained = s.slotRetainedBytes.map { ByteCount.human(Int64(clamping: $0)) } ?? "?"
        let limit = s.upstreamMaxSlotWALKeepSizeBytes
        let limitText = limit.map { $0 < 0 ? "unlimited (max_slot_wal_keep_size = -1)" : "max_slot_wal_keep_size \(ByteCount.human($0))" } ?? "max_slot_wal_keep_size unknown"
        switch s.slotWALStatus {
        case "lost":
            return HealthCheck.Result(name: name, level: .critical, detail: lostAdvice(s))
        case "unreserved":
            return HealthCheck.Result(name: name, level: .critical, detail: "the slot holds \(retained), beyond \(limitText): the upstream removes that WAL at its next checkpoint and the archive then has a gap; get pg_receivewal streaming at once (`pgarchive container start`), else `pgarchive container resync` afterwards")
        default:
            break
        }
        let safe = s.slotSafeWALSizeBytes.map { ", safe_wal_size \(ByteCount.human($0))" } ?? ""
        if let limit, limit > 0, let used = s.slotRetainedBytes, Double(used) > Double(limit) / 2
            || (s.slotSafeWALSizeBytes.map { Double($0) < Double(limit) / 2 } ?? false) {
            return HealthCheck.Result(name: name, level: .warning, detail: "the slot holds \(retained) of the upstream's WAL, more than half of \(limitText)\(safe); once it passes the limit the upstream drops WAL the archive has not received: is pg_receivewal streaming? (`pgarchive container status`)")
        }
        return HealthCheck.Result(name: name, level: .ok, detail: "\(retained) held on the upstream, \(limitText)\(safe)")
    }

    /// What an invalidated slot means, and the remedy (for status, check and the watchdog).
    public static func lostAdvice(_ s: ContainerStatus) -> String {
        lostAdvice(after: s.receivedLSN ?? s.slotRestartLSN, reason: s.slotInvalidationReason)
    }

    /// `reason`: `invalidation_reason` where the upstream reports it (17+).
    public static func lostAdvice(after lsn: String?, reason: String? = nil) -> String {
        let remedy = "`pgarchive container resync` takes a new base backup and starts streaming again (restores before the gap keep working)"
        // PostgreSQL 18 release notes: "Allow inactive replication slots to be automatically
        // invalidated using server variable idle_replication_slot_timeout". Such a slot shows
        // wal_status lost too, with invalidation_reason idle_timeout.
        if reason == "idle_timeout" {
            return "the upstream invalidated the replication slot because nothing streamed from it for longer than its idle_replication_slot_timeout (wal_status lost, invalidation_reason idle_timeout): it keeps no WAL for the archive any more, so the archive has a gap after \(lsn ?? "its newest segment") once the upstream recycles it, and no new WAL can be archived; set idle_replication_slot_timeout = 0 on the upstream (or longer than any outage of this host), then \(remedy)"
        }
        return "the upstream invalidated the replication slot (wal_status lost\(reason.map { ", invalidation_reason \($0)" } ?? ""), max_slot_wal_keep_size exceeded) and removed WAL the archive had not received: the archive now has a gap after \(lsn ?? "its newest segment") and no new WAL can be archived; \(remedy)"
    }

    /// Whether the upstream reports the slot as invalidated (`wal_status = lost`).
    public static func isLost(_ upstream: Connection, slot: String) -> Bool {
        (try? upstream.query("SELECT wal_status FROM pg_replication_slots WHERE slot_name = $1", [slot]).rows.first?[0]) == "lost"
    }

    /// init's advice when the upstream keeps WAL for the slot without bound: a quarter of the
    /// free space of the upstream's pg_wal when it can be measured from here (the upstream on
    /// this host), else a fixed suggestion.
    public static func unlimitedAdvice(upstream: Connection) -> String? {
        guard maxSlotWALKeepSize(upstream) == -1 else { return nil }
        var suggestion = "e.g. a quarter of the free space of the upstream's pg_wal file system"
        var value = "'50GB'"
        if let directory = try? upstream.currentSetting("data_directory") {
            var fs = statvfs()
            if statvfs(directory + "/pg_wal", &fs) == 0 || statvfs(directory, &fs) == 0 {
                let free = Int64(fs.f_bavail) * Int64(fs.f_frsize)
                let gigabytes = max(1, free / 4 / (1 << 30))
                value = "'\(gigabytes)GB'"
                suggestion = "a quarter of the \(ByteCount.human(free)) free on the upstream's pg_wal file system"
            }
        }
        return "the upstream has max_slot_wal_keep_size = -1 (unlimited): while this container does not receive (pg_receivewal down, the archive host gone), slot keeps every WAL segment on the upstream until its disk is full. Bound it on the upstream, \(suggestion): ALTER SYSTEM SET max_slot_wal_keep_size = \(value); SELECT pg_reload_conf(); (past the limit the slot is invalidated and the archive needs `pgarchive container resync`)"
    }
}

extension ContainerStatus {
    /// Copies the figures of `retention` into the status.
    mutating func apply(_ retention: SlotRetention) {
        slotRetainedBytes = retention.retainedBytes
        slotSafeWALSizeBytes = retention.safeWALSizeBytes
        upstreamMaxSlotWALKeepSizeBytes = retention.maxSlotWALKeepSizeBytes
    }

    /// Problems of the slot for `evaluate()`.
    var slotRetentionProblems: [String] {
        guard !retired, upstreamReachable else { return [] }
        switch slotWALStatus {
        case "lost": return [SlotRetention.lostAdvice(self)]
        case "unreserved": return ["the replication slot holds more WAL than the upstream's max_slot_wal_keep_size (wal_status unreserved): the upstream removes it at its next checkpoint; get pg_receivewal streaming at once"]
        default: return []
        }
    }
}
