import ArgumentParser
import Foundation
import PGArchiveCore

struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Sanity checks, one line each, with a Nagios exit code (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN).",
        discussion: "Examples:\n  pgarchive check\n  pgarchive check --snapshot-max-age '2 hours' --min-free-percent 20\n  pgarchive check --verify-max-age '2 days'")
    @OptionGroup var options: ContainerOptions
    @Option(name: .customLong("snapshot-max-age"), help: "Warn when the newest snapshot is older (default 25 hours).") var snapshotMaxAge: String?
    @Option(name: .customLong("max-lag"), help: "Warn when the standby's replay lag is larger (default 1 hour).") var maxLag: String?
    @Option(name: .customLong("wal-max-silence"), help: "Warn when no WAL arrived for this long while the upstream wrote some (default 1 hour).") var walMaxSilence: String?
    @Option(name: .customLong("verify-max-age"), help: "Warn when the last `pgarchive verify` is older (default 8 days); a failed one is critical.") var verifyMaxAge: String?
    @Option(name: .customLong("min-free-percent"), help: "Warn below this percentage of free space, critical below half of it (default: the disk_warning and disk_critical settings, 10% and 5%).") var minFreePercent: Double?

    func run() async throws {
        // Wrong permissions refuse every command; check says so as CRITICAL, in its format.
        try options.startup()
        let layout = ContainerLayout(root: try options.containerPath())
        let permissionProblems = ContainerPermissions.problems(layout)
        if !permissionProblems.isEmpty {
            print("PGARCHIVE CRITICAL: \(layout.root)")
            for problem in permissionProblems { print("\tpermissions: CRITICAL (\(problem))") }
            throw ExitCode(Int32(HealthCheck.Level.critical.rawValue))
        }
        let container = try Container.open(path: layout.root) // startup() ran above: logging is set up once
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
        let (_, results) = HealthCheck.run(container, limits: limits)
        let worst = HealthCheck.overall(results)
        print("PGARCHIVE \(worst.label): \(container.layout.root)")
        for result in results {
            print("\t\(result.name): \(result.level.label) (\(result.detail))")
        }
        if worst != .ok { throw ExitCode(Int32(worst.rawValue)) }
    }
}
