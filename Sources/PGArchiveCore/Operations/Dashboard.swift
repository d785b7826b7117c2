import Foundation
import Postgres

/// The text of `container dashboard`.
public enum Dashboard {
    /// The logs worth watching: receiver, standby, cron jobs, running clones.
    public static func currentLogs(_ container: Container) -> [String] {
        let layout = container.layout
        var logs = [layout.receiverLog, layout.standbyLog]
        logs += Container.cronJobs.map(container.cronLogFile)
        logs += ((try? container.clones.list()) ?? []).filter { container.clones.state($0.name).isRunning }.map { container.clones.logFile($0.name) }
        return logs.filter { FileManager.default.fileExists(atPath: $0) }
    }

    public static func render(_ container: Container, logLines: Int, color: Bool) -> String {
        func paint(_ text: String, _ code: String) -> String { color ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text }
        func heading(_ text: String) -> String { paint("== \(text)", "1") + "\n" }
        let status = ContainerStatus.gather(container)
        var out = heading("pgarchive \(container.layout.root)")
        for line in status.rendered().split(separator: "\n", omittingEmptySubsequences: false) {
            var text = String(line)
            for (word, code) in [("running", "32"), ("ok", "32"), ("DEGRADED", "33"), ("DOWN", "31"), ("UNREACHABLE", "31"), ("stopped", "31"), ("MISSING", "31"), ("failed", "31")] {
                text = text.replacingOccurrences(of: word, with: paint(word, code))
            }
            out += text + "\n"
        }

        out += heading("processes")
        let pids = [status.receiver.pid, status.standby.pid].compactMap { $0 }.filter { Processes.isAlive($0) }
        for pid in pids {
            let argv = Processes.commandLine(of: pid)?.joined(separator: " ") ?? "?"
            out += "  \(pid)  \(argv.prefix(150))\n"
        }
        if pids.isEmpty { out += "  (none running)\n" }

        out += heading("disk")
        if let size = status.fileSystemSizeBytes, let free = status.fileSystemFreeBytes {
            out += "  file system: \(ByteCount.human(size - free)) used, \(ByteCount.human(free)) free of \(ByteCount.human(size))\n"
        }
        out += "  wal_archive: \(ByteCount.human(status.walArchiveBytes)) (btrfs shares snapshot data; `df` after `btrfs subvolume sync` is exact)\n"

        out += heading("upstream")
        if let connection = try? container.upstreamConnection(connectTimeout: 3) {
            defer { connection.close() }
            if let row = try? connection.query("""
                SELECT r.pid::text, r.application_name, r.state, r.sent_lsn::text, r.flush_lsn::text,
                       coalesce(r.write_lag::text, '-') AS write_lag, s.slot_name, s.active::text, s.restart_lsn::text,
                       coalesce(s.wal_status, '-') AS wal_status,
                       pg_size_pretty(pg_wal_lsn_diff(pg_current_wal_lsn(), s.restart_lsn)) AS retained
                FROM pg_replication_slots s LEFT JOIN pg_stat_replication r ON r.pid = s.active_pid
                WHERE s.slot_name = $1
                """, [container.config.slot]).rows.first {
                out += "  slot \(row["slot_name"] ?? "?"): active \(row["active"] ?? "?"), restart_lsn \(row["restart_lsn"] ?? "-"), wal_status \(row["wal_status"] ?? "-"), WAL retained for it \(row["retained"] ?? "-")\n"
                out += "  pg_stat_replication: pid \(row["pid"] ?? "-"), \(row["application_name"] ?? "-"), state \(row["state"] ?? "-"), sent \(row["sent_lsn"] ?? "-"), flushed \(row["flush_lsn"] ?? "-"), write lag \(row["write_lag"] ?? "-")\n"
            } else {
                out += "  " + paint("slot \(container.config.slot) not found", "31") + "\n"
            }
        } else {
            out += "  " + paint("unreachable", "31") + "\n"
        }

        for log in currentLogs(container) {
            out += heading("\((log as NSString).lastPathComponent)")
            out += LogFile.tail(log, lines: logLines) + "\n"
        }
        return out
    }
}
