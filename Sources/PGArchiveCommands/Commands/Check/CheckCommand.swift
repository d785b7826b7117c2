import ArgumentParser
import Foundation
import PGArchiveCore

struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Sanity checks, one line each, with a Nagios exit code (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN).",
        discussion: """
            With --all, every container under --root (default: containers_root in \
            /etc/pgarchive.conf) is checked with the same limits: one summary line with \
            performance data, then one line per container, worst first, naming what is not OK; \
            the exit code is the worst container's. A container that cannot be opened is CRITICAL.

            Examples:
              pgarchive check
              pgarchive check --snapshot-max-age '2 hours' --min-free-percent 20
              pgarchive check --verify-max-age '2 days'
              pgarchive check --all --root /srv/pgarchive
            """)
    @OptionGroup var options: ContainerOptions
    @Flag(help: "Check every container under --root (default: containers_root in /etc/pgarchive.conf).") var all = false
    @Option(help: ArgumentHelp("The directory holding the containers, for --all (implies --all).", valueName: "dir"),
            completion: .directory) var root: String?
    @Option(name: .customLong("snapshot-max-age"), help: "Warn when the newest snapshot is older (default 25 hours).") var snapshotMaxAge: String?
    @Option(name: .customLong("max-lag"), help: "Warn when the standby's replay lag is larger (default 1 hour).") var maxLag: String?
    @Option(name: .customLong("wal-max-silence"), help: "Warn when no WAL arrived for this long while the upstream wrote some (default 1 hour).") var walMaxSilence: String?
    @Option(name: .customLong("verify-max-age"), help: "Warn when the last `pgarchive verify` is older (default 8 days); a failed one is critical.") var verifyMaxAge: String?
    @Option(name: .customLong("min-free-percent"), help: "Warn below this percentage of free space, critical below half of it (default: the disk_warning and disk_critical settings, 10% and 5%).") var minFreePercent: Double?

    func run() async throws {
        try options.startup()
        let limits = try self.limits()
        let report: CheckReport
        if all || root != nil {
            if let container = options.container, !container.isEmpty {
                throw PGArchiveError("give either --all/--root DIR or --container/-C PATH, not both")
            }
            report = CheckReport.fleet(root: root, limits: limits)
        } else {
            report = try await CheckReport.container(path: try options.containerPath(), limits: limits) // logging is set up once, above
        }
        print(report.text, terminator: "")
        if report.level != .ok { throw ExitCode(Int32(report.level.rawValue)) }
    }

    /// The limits from the options, with an error naming a bad one.
    func limits() throws -> HealthCheck.Limits {
        var limits = HealthCheck.Limits()
        func span(_ text: String?, _ option: String) throws -> TimeSpan? {
            guard let text else { return nil }
            guard let span = TimeSpan(parsing: text) else { throw PGArchiveError("--\(option): '\(text)' is not a time span such as '2 hours'") }
            return span
        }
        if let v = try span(snapshotMaxAge, "snapshot-max-age") { limits.snapshotMaxAge = v }
        if let v = try span(maxLag, "max-lag") { limits.maxReplayLag = v }
        if let v = try span(walMaxSilence, "wal-max-silence") { limits.walMaxSilence = v }
        if let v = try span(verifyMaxAge, "verify-max-age") { limits.verifyMaxAge = v }
        if let minFreePercent { limits.minFreePercent = minFreePercent }
        return limits
    }
}
