import Foundation
import Logging
import Postgres

extension WALContiguity.Inventory {
    /// The inventory of archive entries as listed by `WALArchive.entries()`, history files read.
    public init(entries: [WALArchive.Entry], segmentSize: UInt64) {
        var histories: [UInt32: String?] = [:]
        for entry in entries where entry.name.isHistory {
            histories[entry.name.timeline] = .some(try? String(contentsOfFile: entry.path, encoding: .utf8))
        }
        self.init(files: entries.map(\.name), histories: histories, segmentSize: segmentSize)
    }
}

extension Container {
    /// Before a restore from `snapshot` starts (a clone, `restore --to`, a verify or dump
    /// clone): every segment from the snapshot's REDO segment to the newest one must be in the
    /// archive (`WALContiguity.check`, the same check `verify` makes), so a gap fails at once,
    /// naming the missing segment, instead of a restore that stops there and promotes short.
    /// A snapshot from before a `container resync` is checked against the WAL kept in
    /// `wal_archive/before-resync-*` (its newest segment is then the end of that WAL).
    ///
    /// For `--latest` it also measures the archive's newest received byte: the start of the
    /// last complete record in the newest segment (the `.partial` one, served under its final
    /// name), read with pg_waldump. pg_receivewal pre-fills a `.partial` segment with zeros,
    /// so the file size says nothing; pg_waldump stops at the first invalid record, which is
    /// where recovery stops too.
    func recoveryPreflight(from snapshot: SnapshotMetadata, target: RecoveryTarget) async throws -> RecoveryExpectation {
        let segmentSize = snapshot.walSegmentSize
        let archive = WALArchive(directory: layout.walArchive, segmentSize: segmentSize)
        let main = try archive.entries()
        let retired = try archive.entries(includeRetired: true).filter { $0.path.hasPrefix(layout.walArchive + "/before-resync-") }
        guard let redo = snapshot.redoSegment.segmentNumber(segmentSize: segmentSize) else { return RecoveryExpectation(target: target) }
        let mainFirst = main.compactMap { $0.name.isHistory ? nil : $0.name.segmentNumber(segmentSize: segmentSize) }.min()
        let beforeResync = !retired.isEmpty && (mainFirst.map { redo < $0 } ?? true)
        let location = beforeResync ? "the before-resync-* directories" : "wal_archive/"
        let inventory = WALContiguity.Inventory(entries: beforeResync ? retired : main, segmentSize: segmentSize)
        let result = WALContiguity.check(inventory, start: (snapshot.timeline, redo), startLabel: "snapshot \(snapshot.name)",
                                         segmentSize: segmentSize, location: location)
        if !result.problems.isEmpty {
            throw PGArchiveError("cannot restore snapshot \(snapshot.name) to \(target): the WAL it needs is not complete:\n"
                + result.problems.map { "  " + $0 }.joined(separator: "\n"))
        }
        guard case .latest = target, let end = result.end, let endSegment = end.segmentNumber(segmentSize: segmentSize) else {
            return RecoveryExpectation(target: target)
        }
        if beforeResync {
            logger.notice("snapshot \(snapshot.name) is from before a resync: --latest from it reaches the end of the WAL kept from before the resync (\(end.fileName)), not the newest WAL")
        }
        var expectation = RecoveryExpectation(target: target)
        do {
            let found = try await lastWALRecord(archive: archive, snapshot: snapshot, path: result.path, endSegment: endSegment,
                                                firstSegment: redo, segmentSize: segmentSize)
            expectation.lastRecord = found?.lsn
            expectation.newestSegment = found?.segment
        } catch {
            logger.warning("cannot measure the newest WAL record in the archive (\(error)); the restore is checked for its target kind only")
        }
        return expectation
    }

    /// The start of the last complete record in the newest segment (or the one before, when
    /// the newest holds no record start yet), with the segment's name.
    private func lastWALRecord(archive: WALArchive, snapshot: SnapshotMetadata, path: [WALContiguity.Step], endSegment: UInt64, firstSegment: UInt64,
                               segmentSize: UInt64) async throws -> (lsn: LSN, segment: String)? {
        // pg_waldump of the snapshot's own major version (its WAL has that version's page magic).
        let binaries = try await binaries(forDataDirectory: layout.snapshot(snapshot.name))
        let directory = layout.run + "/.recovery-check-\(getpid())"
        try? FileManager.default.removeItem(atPath: directory)
        guard mkdir(directory, 0o700) == 0 else { throw PGArchiveError("cannot create \(directory): \(String(cString: strerror(errno)))") }
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for segment in (endSegment > firstSegment ? [endSegment, endSegment - 1] : [endSegment]) {
            let timeline = path.last { $0.from <= segment }?.timeline ?? path.first?.timeline ?? 1
            let name = WALFileName(timeline: timeline, segmentNumber: segment, segmentSize: segmentSize).fileName
            let served: String
            do { served = try archive.fetch(name, to: directory + "/" + name, partialOK: true, systemIdentifier: UInt64(snapshot.systemIdentifier)) } catch {
                throw PGArchiveError("cannot read WAL segment \(name): \(error)")
            }
            let waldump = binaries.path("pg_waldump")
            // -q prints only the error at the end of valid WAL: "error in WAL record at X: …",
            // X being the last record read. Without it (when the run ended otherwise), the
            // last record printed.
            let quiet = try await ToolCommand(executable: waldump, arguments: ["-q", "-p", directory, name]).run()
            if let lsn = Self.lastRecordFromWaldumpError(quiet.standardError) { return (lsn, (served as NSString).lastPathComponent) }
            let full = try await ToolCommand(executable: waldump, arguments: ["-p", directory, name]).run(outputLimit: 256 << 20)
            if let lsn = RecoveryCheck.lastRecordStart(waldumpOutput: full.standardOutput) { return (lsn, (served as NSString).lastPathComponent) }
            unlink(directory + "/" + name)
        }
        return nil
    }

    static func lastRecordFromWaldumpError(_ text: String) -> LSN? {
        guard let range = text.range(of: "error in WAL record at ") else { return nil }
        return LSN(String(text[range.upperBound...].prefix { $0 != ":" && $0 != " " && $0 != "\n" }))
    }

    /// Whether the clone in `dataDirectory` is still to recover (promotion removes
    /// recovery.signal), so `clone start` of an already promoted clone checks nothing.
    func stillToRecover(_ dataDirectory: String) -> Bool {
        FileManager.default.fileExists(atPath: dataDirectory + "/recovery.signal")
    }

    /// After a clone promoted on `timeline`: nil when its new timeline's history file shows
    /// that recovery reached `expected`, else what is wrong.
    func recoveryEndProblem(dataDirectory: String, timeline: UInt32?, expected: RecoveryExpectation) -> String? {
        let walDirectory = dataDirectory + "/pg_wal"
        var tli = timeline
        if tli == nil {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: walDirectory)) ?? []
            tli = names.compactMap { WALFileName.parse($0) }.filter(\.isHistory).map(\.timeline).max()
        }
        guard let tli else { return "the promoted clone has no timeline history file in pg_wal/, so where its recovery ended is unknown" }
        let file = walDirectory + "/" + WALFileName.history(timeline: tli).fileName
        guard let text = try? String(contentsOfFile: file, encoding: .utf8), let stop = RecoveryCheck.lastStop(history: text) else {
            return "cannot read where recovery ended from \(file)"
        }
        return RecoveryCheck.problem(stop, expected: expected)
    }
}
