import Btrfs
import Foundation
import Logging
import Postgres

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

/// The contiguity of a WAL archive across timeline switches, on file names only (pure, so
/// unit tests can use made-up archives).
public enum WALContiguity {
    /// A timeline history file's entries: timeline `timeline` ended at `switchPoint`, where
    /// the next one in the file (or the file's own timeline) began.
    public struct HistoryEntry: Sendable, Equatable {
        public var timeline: UInt32
        public var switchPoint: LSN
        public init(timeline: UInt32, switchPoint: LSN) {
            self.timeline = timeline
            self.switchPoint = switchPoint
        }
    }

    /// Parses `N.history`: lines `parentTLI <tab> switchpoint <tab> reason`; comments and
    /// blank lines are skipped. nil when a line is malformed.
    public static func parseHistory(_ text: String) -> [HistoryEntry]? {
        var result: [HistoryEntry] = []
        for line in text.split(separator: "\n") {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            let fields = trimmed.split(whereSeparator: { $0 == "\t" || $0 == " " })
            guard fields.count >= 2, let tli = UInt32(fields[0]), let lsn = LSN(String(fields[1])) else { return nil }
            result.append(HistoryEntry(timeline: tli, switchPoint: lsn))
        }
        return result
    }

    /// One timeline of a path: timeline `timeline` is read from segment `from` on.
    public struct Step: Sendable, Equatable {
        public var timeline: UInt32
        public var from: UInt64
        public init(timeline: UInt32, from: UInt64) {
            self.timeline = timeline
            self.from = from
        }
    }

    /// The archive's files, reduced to what contiguity needs.
    public struct Inventory: Sendable {
        /// Complete segments (plain or compressed) per timeline.
        public var complete: [UInt32: Set<UInt64>] = [:]
        public var partial: [UInt32: Set<UInt64>] = [:]
        /// History files present, with their text (nil: present but unreadable).
        public var histories: [UInt32: String?] = [:]

        public init() {}

        public init(files: [WALFileName], histories: [UInt32: String?], segmentSize: UInt64) {
            for file in files {
                guard let n = file.segmentNumber(segmentSize: segmentSize) else { continue }
                if file.isPartial { partial[file.timeline, default: []].insert(n) } else { complete[file.timeline, default: []].insert(n) }
            }
            self.histories = histories
        }

        public var newestTimeline: UInt32? { (Array(complete.keys) + Array(partial.keys)).max() }
        func newestSegment(on timeline: UInt32) -> UInt64? {
            ((complete[timeline] ?? []).union(partial[timeline] ?? [])).max()
        }
        func has(_ timeline: UInt32, _ segment: UInt64, partialOK: Bool) -> Bool {
            complete[timeline]?.contains(segment) == true || (partialOK && partial[timeline]?.contains(segment) == true)
        }
    }

    public struct Result: Sendable, Equatable {
        public var problems: [String] = []
        /// Segments the range spans (checked for presence).
        public var segmentsChecked = 0
        /// The path followed, oldest timeline first.
        public var path: [Step] = []
        public var end: WALFileName?
    }

    /// Checks that every segment from `start` (a snapshot's REDO segment on its timeline) to
    /// the newest segment of the newest timeline is present, following the newest timeline's
    /// history file: segments of an older timeline up to its switch segment, then the newer
    /// timeline from its switch segment on. Segments before the newest must be complete; the
    /// newest may be `.partial`. `startLabel` names what needs the range (in messages).
    public static func check(_ inventory: Inventory, start: (timeline: UInt32, segment: UInt64), startLabel: String,
                             segmentSize: UInt64, location: String = "wal_archive/") -> Result {
        var result = Result()
        guard let newestTLI = inventory.newestTimeline, let endSegment = inventory.newestSegment(on: newestTLI) else {
            result.problems.append("\(location) holds no WAL segments at all, so \(startLabel) cannot be restored: is pg_receivewal running (`pgarchive container status`)?")
            return result
        }
        func name(_ tli: UInt32, _ n: UInt64) -> String { WALFileName(timeline: tli, segmentNumber: n, segmentSize: segmentSize).fileName }

        // The path to the newest timeline: from its history file, or guessed from the
        // segments present when the file is missing (and reported).
        var path: [Step] = []
        if newestTLI > 1 || inventory.histories[newestTLI] != nil {
            let historyName = WALFileName.history(timeline: newestTLI).fileName
            if let text = inventory.histories[newestTLI] ?? nil, let entries = parseHistory(text) {
                var from: UInt64 = 0
                for entry in entries {
                    path.append(Step(timeline: entry.timeline, from: from))
                    from = entry.switchPoint.segmentNumber(segmentSize: segmentSize)
                }
                path.append(Step(timeline: newestTLI, from: from))
            } else if newestTLI > 1 {
                let what = inventory.histories[newestTLI] == nil ? "is missing from \(location)" : "cannot be read (malformed)"
                result.problems.append("timeline history file \(historyName) \(what): restores cannot follow the switch to timeline \(newestTLI); copy it from the upstream's pg_wal/ (or standby/pg_wal/) into \(location)")
                // Guess: each timeline present takes over at its oldest segment.
                let timelines = Set(inventory.complete.keys).union(inventory.partial.keys).filter { $0 <= newestTLI }.sorted()
                for tli in timelines {
                    let first = ((inventory.complete[tli] ?? []).union(inventory.partial[tli] ?? [])).min() ?? 0
                    path.append(Step(timeline: tli, from: path.isEmpty ? 0 : first))
                }
            }
        }
        if path.isEmpty { path = [Step(timeline: newestTLI, from: 0)] }

        // The snapshot's own timeline must be on the path.
        guard let startIndex = path.lastIndex(where: { $0.timeline == start.timeline && $0.from <= start.segment })
                ?? path.firstIndex(where: { $0.timeline == start.timeline }) else {
            result.problems.append("\(startLabel) is on timeline \(start.timeline), which is not an ancestor of the archive's newest timeline \(newestTLI): it cannot be restored to the newest WAL; take a new snapshot (`pgarchive snapshot create`) and delete it")
            return result
        }
        path = Array(path[startIndex...])
        result.path = path
        result.end = WALFileName(timeline: newestTLI, segmentNumber: endSegment, segmentSize: segmentSize,
                                 isPartial: !inventory.has(newestTLI, endSegment, partialOK: false))
        guard start.segment <= endSegment else {
            result.problems.append("\(startLabel) starts at \(name(start.timeline, start.segment)), after the newest segment in \(location) (\(name(newestTLI, endSegment))): WAL is missing; check pg_receivewal (`pgarchive container status`)")
            return result
        }

        var missing: [(UInt32, UInt64)] = []
        for segment in start.segment...endSegment {
            // The timeline that holds this segment: the newest step starting at or before it.
            let tli = path.last { $0.from <= segment }?.timeline ?? path[0].timeline
            result.segmentsChecked += 1
            if !inventory.has(tli, segment, partialOK: segment == endSegment) { missing.append((tli, segment)) }
        }
        // Runs of consecutive missing segments, one line each.
        var index = 0
        while index < missing.count {
            var last = index
            while last + 1 < missing.count && missing[last + 1].1 == missing[last].1 + 1 && missing[last + 1].0 == missing[index].0 { last += 1 }
            let (tli, first) = missing[index]
            let onlyPartial = index == last && inventory.partial[tli]?.contains(first) == true
            let what = index == last
                ? "WAL segment \(name(tli, first)) is \(onlyPartial ? "only present as .partial" : "missing") in \(location)"
                : "WAL segments \(name(tli, first)) to \(name(tli, missing[last].1)) (\(last - index + 1)) are missing in \(location)"
            result.problems.append("\(what): \(startLabel) and older cannot be restored past it; put it back if you have a copy (the upstream's pg_wal/), else take a new snapshot (`pgarchive snapshot create`) and delete the snapshots from before the gap")
            index = last + 1
        }
        return result
    }
}

extension Container {
    static let verifyClonePrefix = "verify-"
    /// Inside a temporary verify clone's data directory: the pid of the `verify` that made it.
    static let verifyCloneMarkerFile = "pgarchive.verify-clone"
    public var verifyRecordFile: String { layout.run + "/verify.json" }

    public func lastVerify() -> VerifyRecord? {
        guard let data = FileManager.default.contents(atPath: verifyRecordFile) else { return nil }
        return try? SnapshotStore.decoder.decode(VerifyRecord.self, from: data)
    }

    /// `pgarchive verify`: the offline checks (WAL contiguity across timelines, compressed
    /// segments, snapshot metadata against pg_control, half-made leftovers), then with
    /// `restore` a real restore of the newest snapshot (every snapshot with `all`) to the
    /// newest WAL, pg_amcheck and a row count of every table. Never throws: what could not be
    /// done is the report's `error` (exit 2). The outcome is recorded in `run/verify.json`.
    public func verify(restore: Bool, all: Bool) async -> VerifyReport {
        let started = Date()
        var report = VerifyReport(container: layout.root, startedAt: started, finishedAt: started, restore: restore)
        do {
            if restore { await removeVerifyLeftovers() }
            try await verifyOffline(&report)
            if restore {
                let snapshots = try self.snapshots.list()
                let chosen = all ? snapshots.reversed() : Array(snapshots.suffix(1))
                if chosen.isEmpty {
                    report.problems.append("there are no snapshots to restore: `pgarchive snapshot create` takes one")
                }
                for snapshot in chosen {
                    let result = try await verifyRestore(snapshot)
                    report.restores.append(result)
                    report.problems += result.problems
                    report.checks.append("restore \(snapshot.name): " + (result.passed
                        ? "recovered to the newest WAL in \(String(format: "%.1f", result.durationSeconds)) s; \(result.amcheckSkipped.map { "pg_amcheck NOT run (\($0))" } ?? "pg_amcheck found no corruption in \(result.databases.count) database(s)"); \(result.tablesCounted) tables, \(result.rowsCounted) rows counted"
                        : "FAILED"))
                }
            }
        } catch {
            report.error = "\(error)"
        }
        report.finishedAt = Date()
        report.durationSeconds = report.finishedAt.timeIntervalSince(started)
        report.result = report.error != nil ? .error : (report.problems.isEmpty ? .passed : .failed)
        report.exitCode = report.error != nil ? 2 : (report.problems.isEmpty ? 0 : 1)
        do { try AtomicFile.write(try SnapshotStore.encoder.encode(report.record), to: verifyRecordFile) } catch {
            logger.warning("cannot record the verification in \(verifyRecordFile): \(error)")
        }
        switch report.result {
        case .passed: logger.info("verify passed: \(report.summary)")
        case .failed: logger.warning("verify found \(report.problems.count) problem(s)")
        case .error: logger.error("verify could not run: \(report.error ?? "")")
        }
        return report
    }

    // MARK: offline checks

    func verifyOffline(_ report: inout VerifyReport) async throws {
        let store = snapshots
        let snapshots = try store.list()
        let archive = WALArchive(directory: layout.walArchive)
        let segmentSize = snapshots.last?.walSegmentSize ?? archive.inferredSegmentSize() ?? defaultWALSegmentSize

        // (1) contiguity: the main directory from the oldest snapshot after the last resync,
        // the before-resync directories for snapshots from before it.
        let main = try archive.entries()
        let retired = try archive.entries(includeRetired: true).filter { $0.path.hasPrefix(layout.walArchive + "/before-resync-") }
        func inventory(_ entries: [WALArchive.Entry]) -> WALContiguity.Inventory {
            WALContiguity.Inventory(entries: entries, segmentSize: segmentSize)
        }
        let mainInventory = inventory(main)
        let mainFirst = main.compactMap { $0.name.isHistory ? nil : $0.name.segmentNumber(segmentSize: segmentSize) }.min()
        let beforeResync = retired.isEmpty ? [] : snapshots.filter { s in mainFirst.map { s.redoSegment.segmentNumber(segmentSize: segmentSize)! < $0 } ?? false }
        let afterResync = snapshots.filter { s in !beforeResync.contains { $0.name == s.name } }
        if snapshots.isEmpty {
            report.problems.append("there are no snapshots: nothing can be restored; `pgarchive snapshot create` takes one")
        }
        var chains: [(SnapshotMetadata?, WALContiguity.Inventory, String)] = []
        if let oldest = afterResync.first { chains.append((oldest, mainInventory, "wal_archive/")) }
        else if mainFirst != nil { chains.append((nil, mainInventory, "wal_archive/")) }
        if let oldest = beforeResync.first { chains.append((oldest, inventory(retired), "the before-resync-* directories")) }
        for (snapshot, inv, location) in chains {
            let start: (UInt32, UInt64)
            let label: String
            if let snapshot {
                start = (snapshot.timeline, snapshot.redoSegment.segmentNumber(segmentSize: segmentSize)!)
                label = "snapshot \(snapshot.name)"
            } else {
                guard let tli = inv.complete.keys.min() ?? inv.partial.keys.min(),
                      let first = ((inv.complete[tli] ?? []).union(inv.partial[tli] ?? [])).min() else { continue }
                start = (tli, first)
                label = "the archive's oldest segment"
            }
            let result = WALContiguity.check(inv, start: start, startLabel: label, segmentSize: segmentSize, location: location)
            report.problems += result.problems
            report.segmentsChecked += result.segmentsChecked
            let from = WALFileName(timeline: start.0, segmentNumber: start.1, segmentSize: segmentSize).fileName
            let timelines = result.path.map { String($0.timeline) }.joined(separator: " → ")
            report.checks.append("WAL archive (\(location)): \(result.segmentsChecked) segments from \(from) (\(label)) to \(result.end?.fileName ?? "-") on timeline\(result.path.count > 1 ? "s" : "") \(timelines)\(result.problems.isEmpty ? ", contiguous" : ", NOT contiguous")")
        }

        // (2) every compressed segment decompresses to exactly a segment, checksum verified;
        // plain complete segments have the segment size.
        var compressedProblems = 0
        for entry in try archive.entries(includeRetired: true) where !entry.name.isHistory && !entry.name.isPartial {
            if let algorithm = entry.name.compression {
                report.compressedSegmentsChecked += 1
                do throws(WALCompressionError) {
                    try WALCompression.decompress(file: entry.path, algorithm: algorithm, expectedSize: segmentSize) { _ in }
                } catch {
                    // Removed meanwhile (expiry, or compress-wal replacing a copy): not a problem.
                    if !FileManager.default.fileExists(atPath: entry.path) { continue }
                    compressedProblems += 1
                    report.problems.append("compressed WAL segment \(entry.name.fileName) is corrupt (\(error)): restores cannot read it; put back an intact copy of \(entry.name.baseName) (the upstream's pg_wal/ may still have it), else take a new snapshot and delete those from before it")
                }
            } else if entry.size != Int64(segmentSize) {
                report.problems.append("WAL segment \(entry.name.fileName) is \(entry.size) bytes, not the segment size \(segmentSize): it is torn; put back an intact copy, else take a new snapshot and delete those from before it")
            }
        }
        report.checks.append("compressed segments: \(report.compressedSegmentsChecked) decompressed and checksum-verified\(compressedProblems > 0 ? ", \(compressedProblems) CORRUPT" : "")")

        // (3) every snapshot's metadata agrees with its own pg_control.
        var snapshotProblems = 0
        for snapshot in snapshots {
            report.snapshotsChecked += 1
            let control: ControlData
            // A snapshot from before a major upgrade of the upstream: its own version's pg_controldata.
            do { control = try await ControlData.read(dataDirectory: layout.snapshot(snapshot.name), binaries: try await binaries(forDataDirectory: layout.snapshot(snapshot.name))) } catch {
                snapshotProblems += 1
                report.problems.append("snapshot \(snapshot.name): cannot read its pg_control (\(error)); it cannot be restored: delete it (`pgarchive snapshot delete \(snapshot.name)`)")
                continue
            }
            var differences: [String] = []
            if control.redoLocation != snapshot.redoLSN { differences.append("REDO LSN \(snapshot.redoLSN) in \(snapshot.name).json but \(control.redoLocation) in pg_control") }
            if control.timeline != snapshot.timeline { differences.append("timeline \(snapshot.timeline) in \(snapshot.name).json but \(control.timeline) in pg_control") }
            if Int64(control.checkpointTime.timeIntervalSince1970) != Int64(snapshot.checkpointTime.timeIntervalSince1970) {
                differences.append("checkpoint time \(ISO8601.utc(snapshot.checkpointTime)) in \(snapshot.name).json but \(ISO8601.utc(control.checkpointTime)) in pg_control")
            }
            if String(control.systemIdentifier) != snapshot.systemIdentifier {
                differences.append("system identifier \(snapshot.systemIdentifier) in \(snapshot.name).json but \(control.systemIdentifier) in pg_control")
            }
            if !config.systemIdentifier.isEmpty && String(control.systemIdentifier) != config.systemIdentifier
                && !isFromBeforeAMajorUpgrade(layout.snapshot(snapshot.name)) {
                differences.append("system identifier \(control.systemIdentifier) is not the upstream's (\(config.systemIdentifier))")
            }
            if !differences.isEmpty {
                snapshotProblems += 1
                report.problems.append("snapshot \(snapshot.name): metadata disagrees with its pg_control (\(differences.joined(separator: "; "))): restores from it may start at the wrong place; delete it (`pgarchive snapshot delete \(snapshot.name)`) and take a new one")
            }
        }
        report.checks.append("snapshots: \(snapshots.count) checked against their pg_control\(snapshotProblems > 0 ? ", \(snapshotProblems) DISAGREE" : ", all agree")")

        // (4) nothing half-made.
        var leftovers = 0
        for name in store.incomplete() {
            if name.hasPrefix(".creating-"), let pid = pid_t(name.dropFirst(".creating-".count)), Processes.isAlive(pid) { continue }
            leftovers += 1
            if name.hasPrefix(".creating-") {
                report.problems.append("snapshots/\(name) is left by an interrupted snapshot create: the next `pgarchive snapshot create` removes it")
            } else if name.hasPrefix(SnapshotStore.deletingPrefix) {
                report.problems.append("snapshots/\(name) marks an interrupted snapshot delete: the next `pgarchive snapshot create`, `delete` or `expire` finishes it")
            } else if name.hasSuffix(".json") {
                report.problems.append("snapshots/\(name) is metadata without its snapshot, left by an interrupted snapshot create: the next `pgarchive snapshot create` removes it")
            } else {
                report.problems.append("snapshots/\(name) has no metadata (\(name).json): it is half-made and never offered for restores; remove it with `btrfs subvolume delete` after making it writable")
            }
        }
        for name in store.corruptMetadata() {
            leftovers += 1
            report.problems.append("snapshot \(name): its metadata \(name).json cannot be read: restores never use it; delete it (`pgarchive snapshot delete \(name)` or by hand)")
        }
        for name in ((try? FileManager.default.contentsOfDirectory(atPath: layout.clones)) ?? []).sorted() where !name.hasPrefix(".") {
            let directory = layout.clone(name)
            if !FileManager.default.fileExists(atPath: directory + "/" + CloneStore.metadataFile) {
                leftovers += 1
                report.problems.append("clones/\(name) has no metadata (\(CloneStore.metadataFile)): a half-made clone; remove it with `btrfs subvolume delete \(directory)`")
            } else if name.hasPrefix(Self.verifyClonePrefix), let pid = Processes.readPIDFile(directory + "/" + Self.verifyCloneMarkerFile),
                      pid != getpid(), !DumpStore.isLivePGArchive(pid) {
                leftovers += 1
                report.problems.append("clone \(name) is left by an interrupted verify (pid \(pid)): the next `pgarchive verify --restore` removes it, or `pgarchive clone delete --force \(name)`")
            }
        }
        for path in clones.leftovers() {
            leftovers += 1
            report.problems.append("clones/\((path as NSString).lastPathComponent) is left by an interrupted clone create: the next `pgarchive clone create` removes it")
        }
        for path in dumpStore.leftovers() {
            if let pid = DumpStore.leftoverPID(path), pid == getpid() || DumpStore.isLivePGArchive(pid) { continue }
            leftovers += 1
            let relative = path.hasPrefix(layout.root + "/") ? String(path.dropFirst(layout.root.count + 1)) : path
            report.problems.append("\(relative) is left by an interrupted dump: the next `pgarchive dump create` removes it")
        }
        report.checks.append("leftovers: \(leftovers == 0 ? "none" : "\(leftovers) half-made snapshot(s), clone(s) or dump run(s)")")
        verifyTablespaces(&report)
    }

    // MARK: restore

    /// Removes temporary verify clones whose `verify` is gone.
    func removeVerifyLeftovers() async {
        for clone in (try? clones.list()) ?? [] where clone.name.hasPrefix(Self.verifyClonePrefix) {
            guard let pid = Processes.readPIDFile(layout.clone(clone.name) + "/" + Self.verifyCloneMarkerFile) else { continue }
            if pid == getpid() || DumpStore.isLivePGArchive(pid) { continue }
            do {
                try await deleteClone(clone.name, force: true)
                logger.notice("removed temporary clone \(clone.name), left by an interrupted verify (pid \(pid))")
            } catch {
                logger.warning("cannot remove temporary clone \(clone.name): \(error)")
            }
        }
    }

    /// Clones `snapshot` to the newest WAL as `verify-<pid>`, starts it, runs pg_amcheck and
    /// counts the rows of every table, then stops and deletes the clone, also on failure.
    /// Failures of the restore itself are problems; throws only when it cannot begin.
    func verifyRestore(_ snapshot: SnapshotMetadata) async throws -> VerifyReport.RestoreResult {
        let name = Self.verifyClonePrefix + String(getpid())
        let started = Date()
        var result = VerifyReport.RestoreResult(snapshot: snapshot.name, clone: name, passed: false, durationSeconds: 0)
        let binaries = try await binaries()
        let clone: CloneMetadata
        do {
            let lock = try self.lock(.snapshots, command: "verify --restore (temporary clone)")
            defer { _ = lock }
            clone = try await createClone(name: name, target: .latest, snapshot: snapshot.name)
            try AtomicFile.write("\(getpid())\n", to: layout.clone(name) + "/" + Self.verifyCloneMarkerFile)
        } catch {
            if FileManager.default.fileExists(atPath: layout.clone(name)) { try? await deleteClone(name, force: true) }
            throw error
        }
        do {
            _ = try await startClone(name)
            try await checkClone(clone, binaries: binaries, into: &result)
        } catch {
            // Said after the clone is deleted, so the message tells what is left of it.
            let failure = await deleteTemporaryClone(name, after: error, what: "verify --restore")
            result.problems.append("snapshot \(snapshot.name) did not restore: \(failure)")
            result.durationSeconds = Date().timeIntervalSince(started)
            return result
        }
        do { try await deleteClone(name, force: true) } catch {
            result.problems.append("cannot remove temporary clone \(name): \(error); remove it with `pgarchive clone delete --force \(name)`")
        }
        result.durationSeconds = Date().timeIntervalSince(started)
        result.passed = result.problems.isEmpty
        return result
    }

    private func checkClone(_ clone: CloneMetadata, binaries: PostgresBinaries, into result: inout VerifyReport.RestoreResult) async throws {
        result.problems += Tablespaces.problems(dataDirectory: layout.clone(clone.name), what: "temporary clone \(clone.name)")
        let base = Conninfo([("host", layout.run), ("port", String(clone.port)), ("dbname", "postgres"), ("user", config.standbyUser)])
        let connection = try Connection(conninfo: base.rendered, connectTimeout: 10)
        let databases: [String]
        let amcheckAvailable: Bool
        do {
            defer { connection.close() }
            databases = try Self.dumpableDatabases(connection)
            amcheckAvailable = try connection.query("SELECT 1 FROM pg_available_extensions WHERE name = 'amcheck'").rows.count == 1
        }
        if !config.verifyAmcheck {
            result.amcheckSkipped = "verify_amcheck = off"
        } else if !amcheckAvailable {
            // Not corruption, and not to be passed over either: a verify that cannot check
            // for corruption must not look like one that found none.
            result.problems.append("snapshot \(clone.snapshot): pg_amcheck cannot run: the PostgreSQL \(binaries.majorVersion) programs in \(binaries.bindir) have no amcheck extension (install it, e.g. Debian's postgresql-\(binaries.majorVersion) ships it), or set verify_amcheck = off in pgarchive.conf to verify without it")
        } else {
            let amcheck = PgAmcheck(binaries: binaries, host: layout.run, port: clone.port, user: config.standbyUser)
            let output = try await amcheck.command.run()
            result.amcheckRan = true
            let text = (output.standardOutput + output.standardError).trimmingCharacters(in: .whitespacesAndNewlines)
            result.amcheckOutput = String(text.prefix(4000))
            if output.exitCode != 0 {
                let lines = text.split(separator: "\n").prefix(5).joined(separator: " | ")
                result.problems.append("snapshot \(clone.snapshot): pg_amcheck reported \(output.exitCode == 2 ? "corruption" : "errors") (exit \(output.exitCode.map(String.init) ?? "by signal \(output.signal ?? 0)")) in the restored clone: \(lines.isEmpty ? "no output" : lines); to look closer, `pgarchive clone create check --latest --snapshot \(clone.snapshot) --start`")
            }
        }
        result.databases = databases
        for database in databases {
            let conninfo = Conninfo([("host", layout.run), ("port", String(clone.port)), ("dbname", database), ("user", config.standbyUser)])
            do {
                let db = try Connection(conninfo: conninfo.rendered, connectTimeout: 10)
                defer { db.close() }
                db.noticeHandler = { _ in }
                let tables = try db.query("""
                    SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                    WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
                      AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%' ORDER BY 1
                    """).rows.compactMap { $0[0] }
                for table in tables {
                    do {
                        let count = try db.query("SELECT count(*) FROM ONLY \(table)").rows.first?[0].flatMap { Int64($0) } ?? 0
                        result.tablesCounted += 1
                        result.rowsCounted += count
                    } catch {
                        result.problems.append("snapshot \(clone.snapshot): counting the rows of \(table) in database '\(database)' failed in the restored clone: \(error)")
                    }
                }
            } catch {
                result.problems.append("snapshot \(clone.snapshot): cannot read database '\(database)' in the restored clone: \(error)")
            }
        }
    }

    /// `cron verify`: verify (with `restore`), failing the job when problems were found.
    public func cronVerify(restore: Bool, all: Bool) async throws -> String {
        let report = await verify(restore: restore, all: all)
        for problem in report.problems { logger.warning("\(problem)") }
        if let error = report.error { throw PGArchiveError("verify could not run: \(error)", exitCode: 2) }
        if !report.problems.isEmpty { throw PGArchiveError("verify found \(report.problems.count) problem(s): \(report.problems[0])") }
        return report.summary
    }
}

extension SnapshotStore {
    /// Snapshots whose `NAME.json` exists but cannot be read.
    func corruptMetadata() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: layout.snapshots)) ?? []
        return names.filter { name in
            guard !name.hasPrefix("."), !name.hasSuffix(".json"), FileManager.default.fileExists(atPath: metadataPath(name)) else { return false }
            return (try? read(name)) == nil
        }.sorted()
    }
}
