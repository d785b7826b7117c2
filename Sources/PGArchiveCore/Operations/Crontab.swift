import Foundation
import Postgres

/// The block of crontab lines for one container, written by `container initcron`.
public enum CronBlock {
    public static func begin(_ container: String) -> String { "# BEGIN pgarchive \(container)" }
    public static func end(_ container: String) -> String { "# END pgarchive \(container)" }

    /// The entries, commented out unless `enabled`. Schedules as in cron/pgarchive.cron.
    public static func render(container: String, executable: String, enabled: Bool) -> String {
        let prefix = enabled ? "" : "#"
        let c = ServerConfiguration.shellQuote(container)
        let x = ServerConfiguration.shellQuote(executable)
        let jobs: [(String, String)] = [
            ("*/5 * * * *", "watchdog"),
            ("*/10 * * * *", "compress-wal"),
            ("7,22,37,52 * * * *", "expire-and-create-snapshot"),
            ("30 3 * * 0", "maintenance"),
            ("15 2 * * *", "dump"),
            ("45 4 * * *", "verify --restore"),
        ]
        var lines = [begin(container),
                     "# written by `pgarchive container initcron`\(enabled ? "" : "; enable with `pgarchive container initcron --enable`")"]
        for (schedule, job) in jobs {
            lines.append("\(prefix)\(schedule) \(x) cron \(job) --no-wait -C \(c)")
        }
        lines.append(end(container))
        return lines.joined(separator: "\n")
    }

    /// `crontab` text with this container's block replaced (or appended), so running it
    /// twice changes nothing.
    public static func merge(_ existing: String, container: String, block: String) -> String {
        var lines = existing.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        if let start = lines.firstIndex(of: begin(container)),
           let stop = lines[start...].firstIndex(of: end(container)) {
            lines.replaceSubrange(start...stop, with: block.split(separator: "\n").map(String.init))
        } else {
            lines += block.split(separator: "\n").map(String.init)
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

extension Container {
    /// Adds or replaces this container's block in the calling user's crontab.
    public func installCron(enable: Bool) async throws -> String {
        let current = try await ToolCommand(executable: "crontab", arguments: ["-l"]).run()
        let existing: String
        if current.succeeded { existing = current.standardOutput }
        else if current.standardError.contains("no crontab") { existing = "" }
        else { throw PGArchiveError("cannot read the crontab: \(current.standardError.trimmingCharacters(in: .whitespacesAndNewlines))") }
        let block = CronBlock.render(container: layout.root, executable: SelfExecutable.path, enabled: enable)
        let merged = CronBlock.merge(existing, container: layout.root, block: block)
        if merged != existing {
            try await ToolCommand(executable: "crontab", arguments: ["-"]).runChecked(input: merged)
        }
        return block
    }
}
