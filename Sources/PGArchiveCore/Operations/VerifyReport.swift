import Foundation

/// The outcome of the last `pgarchive verify`, kept in `run/verify.json` for `container
/// status`, `check` and `metrics`.
public struct VerifyRecord: Codable, Sendable, Equatable {
    public enum Result: String, Codable, Sendable {
        /// Every check passed.
        case passed
        /// Problems were found (exit 1).
        case failed
        /// Verification could not run (exit 2).
        case error
    }
    public var startedAt: Date
    public var finishedAt: Date
    public var durationSeconds: Double
    public var result: Result
    /// Whether snapshots were restored (`--restore`), not only checked offline.
    public var restore: Bool
    /// The snapshots restored.
    public var snapshots: [String]
    public var problemCount: Int
    public var summary: String

    public init(startedAt: Date, finishedAt: Date, durationSeconds: Double, result: Result, restore: Bool,
                snapshots: [String], problemCount: Int, summary: String) {
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.durationSeconds = durationSeconds
        self.result = result
        self.restore = restore
        self.snapshots = snapshots
        self.problemCount = problemCount
        self.summary = summary
    }
}

/// What `pgarchive verify` found (`--json` prints it).
public struct VerifyReport: Codable, Sendable {
    public struct RestoreResult: Codable, Sendable, Equatable {
        public var snapshot: String
        public var clone: String
        public var passed: Bool
        public var durationSeconds: Double
        /// Databases pg_amcheck checked (and whose tables were counted).
        public var databases: [String] = []
        public var tablesCounted = 0
        public var rowsCounted: Int64 = 0
        public var amcheckRan = false
        public var amcheckOutput: String = ""
        /// Why pg_amcheck did not run (`verify_amcheck = off`), shown in every report.
        public var amcheckSkipped: String?
        public var problems: [String] = []
    }

    public var container: String
    public var startedAt: Date
    public var finishedAt: Date
    public var durationSeconds: Double = 0
    public var restore: Bool
    public var result: VerifyRecord.Result = .passed
    /// 0 all good, 1 problems found, 2 could not run.
    public var exitCode: Int32 = 0
    /// One line per problem, naming the segment/snapshot and what to do.
    public var problems: [String] = []
    /// One line per check done, for the text output.
    public var checks: [String] = []
    /// Why verification could not run (exit 2).
    public var error: String?
    public var segmentsChecked = 0
    public var compressedSegmentsChecked = 0
    public var snapshotsChecked = 0
    public var restores: [RestoreResult] = []

    public init(container: String, startedAt: Date, finishedAt: Date, restore: Bool) {
        self.container = container
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.restore = restore
    }

    public var summary: String {
        if let error { return "could not run: \(error)" }
        var text = problems.isEmpty ? "passed" : "\(problems.count) problem(s), first: \(problems[0])"
        text += " (\(segmentsChecked) WAL segments, \(compressedSegmentsChecked) compressed, \(snapshotsChecked) snapshots checked"
        if !restores.isEmpty {
            text += "; restored \(restores.map(\.snapshot).joined(separator: ", "))"
            let tables = restores.reduce(0) { $0 + $1.tablesCounted }
            let rows = restores.reduce(Int64(0)) { $0 + $1.rowsCounted }
            let skipped = restores.compactMap(\.amcheckSkipped).first
            text += skipped.map { ": pg_amcheck NOT run (\($0)), \(tables) tables / \(rows) rows counted" }
                ?? ": pg_amcheck and \(tables) tables / \(rows) rows counted"
        }
        return text + ")"
    }

    public var record: VerifyRecord {
        VerifyRecord(startedAt: startedAt, finishedAt: finishedAt, durationSeconds: durationSeconds, result: result,
                     restore: restore, snapshots: restores.map(\.snapshot), problemCount: problems.count, summary: summary)
    }

    /// Text for the terminal: the checks, each problem on its own line, the result.
    public func rendered() -> String {
        var lines = checks
        for problem in problems { lines.append("problem: \(problem)") }
        if let error { lines.append("error: \(error)") }
        let verdict = error != nil ? "COULD NOT RUN" : (problems.isEmpty ? "PASSED" : "FAILED (\(problems.count) problem(s))")
        lines.append("result: \(verdict) in \(String(format: "%.1f", durationSeconds)) s")
        return lines.joined(separator: "\n") + "\n"
    }
}
