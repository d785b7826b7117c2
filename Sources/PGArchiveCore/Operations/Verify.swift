import Btrfs
import Foundation
import Logging
import Postgres

extension Container {
    static let verifyClonePrefix = "verify-"
    /// Inside a temporary verify clone's data directory: the pid of the `verify` that made it.
    static let verifyCloneMarkerFile = "pgarchive.verify-clone"
    public var verifyRecordFile: String { layout.run + "/verify.json" }

    public func lastVerify() -> VerifyRecord? {
        guard let data = FileManager.default.contents(atPath: verifyRecordFile) else { return nil }
        return try? JSONCoding.decoder.decode(VerifyRecord.self, from: data)
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
        do { try AtomicFile.write(try JSONCoding.encoder.encode(report.record), to: verifyRecordFile) } catch {
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
