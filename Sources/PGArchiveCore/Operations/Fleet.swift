import Foundation

/// `pgarchive status --all` and `pgarchive check --all`: every container under one root
/// directory, one line each, worst first, like `barman list-servers` or `pgbackrest info`.
/// This only finds, iterates and formats: each container's facts and verdicts come from
/// `ContainerStatus.gather` and `HealthCheck.run`, exactly as for a single container, so
/// new status keys or checks show up here without changes. Changes nothing, takes no lock.
public enum Fleet {
    /// The root to look in: `--root`, else `containers_root` of the global configuration file.
    public static func root(option: String?, globalFile: String = Container.globalConfigFile) throws(PGArchiveError) -> String {
        if let option, !option.isEmpty { return ContainerLayout(root: option).root }
        var config = ContainerConfig()
        if FileManager.default.fileExists(atPath: globalFile) {
            try GlobalConfigPermissions.require(globalFile)
            try config.apply(ConfigFile.parse(try ContainerConfig.readText(globalFile), file: globalFile), global: true)
        }
        guard !config.containersRoot.isEmpty else {
            throw PGArchiveError("no directory of containers given: pass --root DIR, or set containers_root = '/srv/pgarchive' (the directory holding the containers) in \(globalFile)")
        }
        return ContainerLayout(root: config.containersRoot).root
    }

    /// The containers under `root` (subdirectories holding pgarchive.conf, by name), with an
    /// error naming the root when there is none.
    public static func containers(under root: String) throws(PGArchiveError) -> [String] {
        let paths = try ContainerMetrics.containers(under: root)
        guard !paths.isEmpty else {
            throw PGArchiveError("no container (a directory with a pgarchive.conf) in \(root); pass --root DIR, or set containers_root in \(Container.globalConfigFile)")
        }
        return paths
    }

    // MARK: - status --all

    /// A container's health as the fleet view ranks it: `error` when it could not be opened
    /// (wrong permissions, a malformed pgarchive.conf), worse than `down`.
    public enum Health: String, Sendable, Codable, Comparable {
        case ok, degraded, down, error
        var rank: Int {
            switch self {
            case .ok: 0
            case .degraded: 1
            case .down: 2
            case .error: 3
            }
        }
        public static func < (a: Health, b: Health) -> Bool { a.rank < b.rank }
        /// As `container status`: 0 ok, 1 degraded, 2 down; a container that cannot be read is 2.
        public var exitCode: Int32 { Int32(min(rank, 2)) }
        public var label: String { self == .ok ? "ok" : rawValue.uppercased() }
    }

    public struct StatusEntry: Sendable, Codable {
        public var container: String
        public var health: Health
        /// Why the container could not be opened (only for `error`).
        public var error: String?
        /// Its `container status --json` (docs/status.schema.json); absent for `error`.
        public var status: ContainerStatus?

        public init(container: String, health: Health, error: String? = nil, status: ContainerStatus? = nil) {
            self.container = container
            self.health = health
            self.error = error
            self.status = status
        }
    }

    /// `status --all --json` (docs/fleet-status.schema.json).
    public struct StatusReport: Sendable, Codable {
        public var schemaVersion = 1
        public var root: String
        /// The worst health of all containers.
        public var health: Health
        public var containers: [StatusEntry]
    }

    public static func statusEntry(path: String) -> StatusEntry {
        do {
            let status = ContainerStatus.gather(try Container.open(path: path))
            return StatusEntry(container: path, health: Health(rawValue: status.health.rawValue) ?? .error, status: status)
        } catch {
            return StatusEntry(container: path, health: .error, error: error.message)
        }
    }

    /// Gathers every container's status, several at a time (each may wait for an
    /// unreachable upstream's connect timeout), sorted worst first.
    public static func status(root: String, paths: [String]) -> StatusReport {
        report(root: root, concurrently(paths) { statusEntry(path: $0) })
    }

    /// The entries worst first (equally bad ones by path), with the worst health.
    public static func report(root: String, _ entries: [StatusEntry]) -> StatusReport {
        let sorted = sortedWorstFirst(entries, level: \.health, path: \.container)
        return StatusReport(root: root, health: sorted.map(\.health).max() ?? .ok, containers: sorted)
    }

    /// One line per container under a header: health, container, newest snapshot's age, the
    /// restorable range, replay lag, last verify, and the first problem.
    public static func renderStatus(_ report: StatusReport, now: Date = Date()) -> String {
        func age(_ seconds: Double) -> String { TimeSpan(seconds: Int64(max(0, seconds))).approximate }
        var rows = [["HEALTH", "CONTAINER", "NEWEST SNAPSHOT", "RESTORABLE", "REPLAY LAG", "LAST VERIFY", "PROBLEMS"]]
        for entry in report.containers {
            guard let s = entry.status else {
                rows.append([entry.health.label, entry.container, "-", "-", "-", "-", entry.error ?? "cannot be opened"])
                continue
            }
            let snapshot = s.newestSnapshotAgeSeconds.map { "\(age($0)) old" } ?? "none"
            let restorable = s.oldestRestorableTime.map { "\(ISO8601.utc($0)) to \(s.newestRestorableTime.map(ISO8601.utc) ?? "now")" } ?? "nothing"
            let lag = s.retired ? "retired" : (s.replayLagSeconds.map(age) ?? s.replayLagBytes.map { "\(ByteCount.human(Int64(clamping: $0)))" } ?? "-")
            let verify = s.lastVerify.map { "\($0.result == .passed ? $0.result.rawValue : $0.result.rawValue.uppercased()) \(age(now.timeIntervalSince($0.finishedAt))) ago" } ?? "never"
            let problems = s.problems.isEmpty ? "-" : s.problems[0] + (s.problems.count > 1 ? " (+\(s.problems.count - 1) more)" : "")
            rows.append([entry.health.label, entry.container, snapshot, restorable, lag, verify, problems])
        }
        return table(rows)
    }

    // MARK: - check --all

    public struct CheckEntry: Sendable {
        public var container: String
        public var level: HealthCheck.Level
        public var results: [HealthCheck.Result]
        public var status: ContainerStatus?

        public init(container: String, level: HealthCheck.Level, results: [HealthCheck.Result], status: ContainerStatus? = nil) {
            self.container = container
            self.level = level
            self.results = results
            self.status = status
        }
    }

    /// `pgarchive check` for one container; one that cannot be opened is one CRITICAL result.
    public static func checkEntry(path: String, limits: HealthCheck.Limits) -> CheckEntry {
        do {
            let (status, results) = HealthCheck.run(try Container.open(path: path), limits: limits)
            return CheckEntry(container: path, level: HealthCheck.overall(results), results: results, status: status)
        } catch {
            let result = HealthCheck.Result(name: "container", level: .critical, detail: "cannot be opened: " + error.message)
            return CheckEntry(container: path, level: .critical, results: [result], status: nil)
        }
    }

    public static func check(paths: [String], limits: HealthCheck.Limits) -> [CheckEntry] {
        sorted(concurrently(paths) { checkEntry(path: $0, limits: limits) })
    }

    /// Worst first (CRITICAL, UNKNOWN, WARNING, OK), equally bad ones by path.
    public static func sorted(_ entries: [CheckEntry]) -> [CheckEntry] {
        sortedWorstFirst(entries, level: { rank($0.level) }, path: \.container)
    }

    /// CRITICAL ranks above UNKNOWN, as in `HealthCheck.overall`.
    static func rank(_ level: HealthCheck.Level) -> Int {
        switch level {
        case .ok: 0
        case .warning: 1
        case .unknown: 2
        case .critical: 3
        }
    }

    /// The worst level of the containers; CRITICAL beats UNKNOWN as in `HealthCheck.overall`.
    public static func overall(_ entries: [CheckEntry]) -> HealthCheck.Level {
        let levels = entries.map(\.level)
        return levels.contains(.critical) ? .critical : (levels.max() ?? .unknown)
    }

    /// Nagios plugin output: a summary line with performance data (counts per level, and per
    /// container the newest snapshot's age and the replay lag), then one line per container
    /// naming what is not OK.
    public static func renderCheck(root: String, _ entries: [CheckEntry]) -> String {
        let worst = overall(entries)
        func count(_ level: HealthCheck.Level) -> Int { entries.filter { $0.level == level }.count }
        let counts = [HealthCheck.Level.critical, .warning, .unknown, .ok].map { "\(count($0)) \($0.label.lowercased())" }
        var perfdata = ["containers=\(entries.count)"] + [HealthCheck.Level.ok, .warning, .critical, .unknown].map { "\($0.label.lowercased())=\(count($0))" }
        for entry in entries {
            let name = perfdataLabel((entry.container as NSString).lastPathComponent)
            if let age = entry.status?.newestSnapshotAgeSeconds { perfdata.append("'\(name) snapshot_age'=\(Int64(max(0, age)))s") }
            if let lag = entry.status?.replayLagSeconds { perfdata.append("'\(name) replay_lag'=\(Int64(max(0, lag)))s") }
        }
        var lines = ["PGARCHIVE \(worst.label): \(entries.count) container(s) in \(root): \(counts.joined(separator: ", ")) | \(perfdata.joined(separator: " "))"]
        for entry in entries {
            let bad = entry.results.filter { $0.level != .ok }
            lines.append("\(entry.level.label) \(entry.container)" + (bad.isEmpty ? "" : ": " + bad.map { "\($0.name): \($0.level.label) (\($0.detail))" }.joined(separator: "; ")))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Nagios labels are quoted with `'`; one in a directory name would end the label.
    static func perfdataLabel(_ name: String) -> String {
        String(name.map { $0 == "'" || $0 == "=" || $0.isNewline ? "_" : $0 })
    }

    // MARK: - helpers

    /// Worst first; equally bad ones by path.
    static func sortedWorstFirst<T, L: Comparable>(_ items: [T], level: (T) -> L, path: (T) -> String) -> [T] {
        items.sorted { a, b in level(a) != level(b) ? level(a) > level(b) : path(a) < path(b) }
    }

    static func concurrently<T: Sendable>(_ paths: [String], _ work: @Sendable (String) -> T) -> [T] {
        let box = Slots<T>(count: paths.count)
        DispatchQueue.concurrentPerform(iterations: paths.count) { i in box.set(i, work(paths[i])) }
        return box.values
    }

    /// Columns padded to their widest cell; the last one is not padded.
    static func table(_ rows: [[String]]) -> String {
        guard let columns = rows.first?.count else { return "" }
        let widths = (0..<columns).map { c in rows.map { $0[c].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { c, cell in
                c == columns - 1 ? cell : cell + String(repeating: " ", count: widths[c] - cell.count)
            }.joined(separator: "  ")
        }.joined(separator: "\n") + "\n"
    }
}

/// Results of concurrent work, one slot per index.
private final class Slots<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [T?]

    init(count: Int) { slots = Array(repeating: nil, count: count) }

    func set(_ index: Int, _ value: T) {
        lock.lock()
        defer { lock.unlock() }
        slots[index] = value
    }

    var values: [T] {
        lock.lock()
        defer { lock.unlock() }
        return slots.compactMap { $0 }
    }
}
