import Foundation
import Postgres

/// The one renderer of recovery settings (docs/ARCHITECTURE.md, Recovery/): the
/// `recovery_target_*` setting of a target, what recovery does once there, the timeline it
/// follows and where it reads WAL,
/// for clones (and temporary clones) in their postgresql.conf and for `restore --to` in the
/// restored postgresql.auto.conf. Pure text, so unit tests pin every line.
public enum RecoverySettings {
    /// `recovery_target_action`: what the server does at its target.
    public enum Action: String, Sendable {
        case promote, pause
    }

    /// The `recovery_target_*` setting of `target`; none for `latest` (replay to the end).
    public static func target(_ target: RecoveryTarget) -> [(String, String)] {
        switch target {
        case .time(let date): return [("recovery_target_time", TargetTimeParser.postgresLiteral(date))]
        case .restorePoint(let name): return [("recovery_target_name", name)]
        case .lsn(let lsn): return [("recovery_target_lsn", lsn.description)]
        case .xid(let xid): return [("recovery_target_xid", String(xid))]
        case .immediate: return [(immediateKey, "immediate")]
        case .latest: return []
        }
    }

    /// The target, action and timeline settings of a plan, in the order both files have them.
    public static func recovery(_ plan: RecoveryPlan, action: Action = .promote) -> [(String, String)] {
        target(plan.target) + [("recovery_target_action", action.rawValue), ("recovery_target_timeline", plan.timeline)]
    }

    // MARK: clones

    /// A clone's restore_command: this pgarchive's `wal fetch`, the newest `.partial`
    /// segment served too (`--partial-ok`), so `--latest` reaches the newest received byte.
    public static func cloneRestoreCommand(container: String, executable: String = SelfExecutable.path) -> String {
        ServerConfiguration.restoreCommand(pgarchiveExecutable: executable, container: container, partialOK: true)
    }

    /// The recovery settings a clone's postgresql.conf gets after pgarchive's server settings
    /// (`ServerConfiguration.extra`; restore_command is one of those server settings). A
    /// clone pauses at its target and pgarchive promotes it (`ClonePromotion`), so the
    /// end-of-recovery checkpoint runs in the background instead of before the first login.
    public static func clone(_ plan: RecoveryPlan) -> [(String, String)] {
        recovery(plan, action: .pause)
    }

    /// The signal files a clone starts with: `recovery.signal` (targeted recovery, and what
    /// pgarchive reads as "still to recover"); for `--latest` also `standby.signal`, which
    /// takes precedence: the clone replays as a standby to the archive's end and waits there
    /// for pgarchive's `pg_promote()` instead of ending recovery, and checkpointing, itself.
    public static func cloneSignalFiles(_ plan: RecoveryPlan) -> [String] {
        plan.target == .latest ? ["recovery.signal", "standby.signal"] : ["recovery.signal"]
    }

    // MARK: restore --to

    /// restore_command of a restored directory: WAL only from its own `pgarchive_wal/`, with
    /// `cp`, so no pgarchive is needed where it starts.
    public static let restoredRestoreCommand = "cp \"pgarchive_wal/%f\" \"%p\""

    /// The settings `restore --to` appends to postgresql.auto.conf.
    public static func restored(_ plan: RecoveryPlan, port: Int?, socketDirectory: String?) -> [(String, String)] {
        var settings: [(String, String)] = [("restore_command", restoredRestoreCommand)]
        settings += recovery(plan)
        settings.append(("archive_mode", "off"))
        if let port { settings.append(("port", String(port))) }
        if let socketDirectory { settings.append(("unix_socket_directories", socketDirectory)) }
        return settings
    }

    /// The whole restored postgresql.auto.conf: the upstream's own `existing` text (kept as
    /// it is, newline-terminated; nothing when it is the untouched template), then pgarchive's
    /// settings under a comment that says how to remove them.
    public static func restoredAutoConf(existing: String?, plan: RecoveryPlan, port: Int?, socketDirectory: String?) -> String {
        var auto = ""
        if let text = existing, !text.hasPrefix("# ALTER SYSTEM settings are not used") {
            auto = text.hasSuffix("\n") || text.isEmpty ? text : text + "\n"
        }
        auto += "\n# Added by pgarchive restore: recovery from pgarchive_wal/. After the server is promoted,\n"
        auto += "# remove these lines and the pgarchive_wal directory, and set archive_mode as you need.\n"
        for (key, value) in restored(plan, port: port, socketDirectory: socketDirectory) { auto += "\(key) = \(ConfigFile.quote(value))\n" }
        return auto
    }

    // MARK: the immediate target, taken back

    static let immediateKey = "recovery_target"
    static var immediateLinePrefix: String { immediateKey + " = " }

    /// Whether a clone's postgresql.conf still holds the `immediate` target setting.
    public static func hasImmediateTarget(postgresqlConf text: String) -> Bool {
        text.split(separator: "\n").contains { $0.hasPrefix(immediateLinePrefix) }
    }

    /// `text` without the `immediate` target setting (recovery then goes to the end of the
    /// WAL); nil when it has none.
    public static func removingImmediateTarget(postgresqlConf text: String) -> String? {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let kept = lines.filter { !$0.hasPrefix(immediateLinePrefix) }
        return kept.count < lines.count ? kept.joined(separator: "\n") : nil
    }
}
