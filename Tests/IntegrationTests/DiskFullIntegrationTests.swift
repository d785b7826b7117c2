import Foundation
import PGArchiveCore
import PGArchiveTestSupport
import Postgres
import XCTest

/// The fault suite's "disk full": a container on a small btrfs of its own (`make test`
/// mounts a 400 MiB one, `PGARCHIVE_TEST_SMALL_BTRFS`) that a ballast file fills while the
/// upstream (on normal disk) writes WAL. pgarchive must say so in `status` and `check`,
/// leave no torn segment or snapshot, and catch up by itself — through `cron watchdog`,
/// what cron runs — once the ballast is gone.
private extension Data {
    func append(to path: String) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: self)
    }
}

final class DiskFullIntegrationTests: XCTestCase {
    var upstream: UpstreamCluster?
    var container: ContainerFixture?
    var ballast: String?
    /// A pg_receivewal the test itself started.
    var strayReceiver: pid_t?

    override func tearDown() async throws {
        if let pid = strayReceiver {
            if Processes.isAlive(pid) { kill(pid, SIGKILL) }
            var status: Int32 = 0
            _ = waitpid(pid, &status, 0)
            strayReceiver = nil
        }
        if let ballast { try? FileManager.default.removeItem(atPath: ballast) }
        await container?.destroy()
        await upstream?.destroy()
        ballast = nil
        container = nil
        upstream = nil
    }

    static let segmentSize: Int64 = 16 << 20

    /// Complete WAL segments (uncompressed) in wal_archive/ by name, with their sizes.
    func completeSegments(_ container: ContainerFixture) throws -> [(name: String, size: Int64)] {
        let names = try FileManager.default.contentsOfDirectory(atPath: container.layout.walArchive)
        return try names.filter { $0.count == 24 && $0.allSatisfy(\.isHexDigit) }.sorted().map { name in
            let attributes = try FileManager.default.attributesOfItem(atPath: container.layout.walArchive + "/" + name)
            return (name, (attributes[.size] as? NSNumber)?.int64Value ?? -1)
        }
    }

    func assertNoTornSegmentOrSnapshot(_ container: ContainerFixture, _ when: String,
                                       file: StaticString = #filePath, line: UInt = #line) async throws {
        for segment in try completeSegments(container) {
            XCTAssertEqual(segment.size, Self.segmentSize, "\(when): torn complete segment \(segment.name) of \(segment.size) bytes", file: file, line: line)
        }
        // Compressed segments only replace their original once written whole and checked.
        let names = try FileManager.default.contentsOfDirectory(atPath: container.layout.walArchive)
        XCTAssertEqual(names.filter { $0.contains(".tmp") || $0.hasPrefix(".") }, [], "\(when): temporary files left in wal_archive/", file: file, line: line)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: container.layout.snapshots).filter { $0.hasPrefix(".creating-") }
        XCTAssertEqual(leftovers, [], "\(when): half-made snapshots", file: file, line: line)
        // Every listed snapshot has its subvolume and metadata.
        let listed = try await container.ok(["snapshot", "list", "--json"], file: file, line: line)
        let snapshots = try SnapshotStore.decoder.decode([SnapshotMetadata].self, from: Data(listed.stdout.utf8))
        for snapshot in snapshots {
            XCTAssertTrue(FileManager.default.fileExists(atPath: container.layout.snapshot(snapshot.name) + "/PG_VERSION"),
                          "\(when): snapshot \(snapshot.name) is listed but its data is incomplete", file: file, line: line)
        }
    }

    /// Makes the ballast file as large as it takes to leave about `free` bytes on the file
    /// system of `path` (as statvfs tells after a commit; btrfs's numbers are estimates).
    func fill(_ ballast: String, leaving free: Int64, on path: String, file: StaticString = #filePath, line: UInt = #line) throws {
        sync()
        let fs = try XCTUnwrap(DiskSpace.fileSystem(of: path), file: file, line: line)
        let fd = open(ballast, O_CREAT | O_WRONLY, 0o600)
        XCTAssertGreaterThanOrEqual(fd, 0, "cannot open \(ballast)", file: file, line: line)
        defer { close(fd) }
        var st = stat()
        XCTAssertEqual(fstat(fd, &st), 0, file: file, line: line)
        let grow = fs.free - free
        XCTAssertGreaterThan(grow, 0, "only \(fs.free) bytes free on \(path)", file: file, line: line)
        XCTAssertEqual(posix_fallocate(fd, off_t(st.st_size), off_t(grow)), 0, "fallocate of the ballast failed", file: file, line: line)
        // btrfs counts the space as used in statvfs once the transaction commits.
        XCTAssertEqual(fsync(fd), 0, file: file, line: line)
        sync()
    }

    func testFullDiskIsReportedLeavesNothingTornAndCatchesUpOnceFreed() async throws {
        let small = try IntegrationEnvironment.smallBtrfsRoot()
        let upstream = try await UpstreamCluster(name: "diskfull")
        self.upstream = upstream
        try upstream.sql("CREATE TABLE markers (id serial PRIMARY KEY, note text NOT NULL)")
        try upstream.sql("CREATE TABLE filler (id bigserial, payload text)")
        try upstream.sql("ALTER TABLE filler ALTER payload SET STORAGE EXTERNAL")
        // The file system is ours alone, but btrfs frees deleted subvolumes (an earlier run's)
        // in the background.
        let roomy = await eventually(timeout: 120, interval: 2) {
            sync()
            return (DiskSpace.fileSystem(of: small)?.free ?? 0) > 300 << 20
        }
        XCTAssertTrue(roomy, "\(small) has only \(DiskSpace.fileSystem(of: small)?.free ?? 0) bytes free; the test needs 300 MiB")
        let container = try ContainerFixture(name: "c", root: small)
        self.container = container
        // No btrfs compression: the WAL must take the space it takes.
        try await container.initContainer(upstream: upstream, extra: ["--btrfs-compression", "none"])
        try upstream.sql("INSERT INTO markers (note) VALUES ('before')")
        _ = try upstream.scalar("SELECT pg_switch_wal()")
        let replayedBefore = await eventually(timeout: 90) { container.standbyScalar("SELECT count(*) FROM markers WHERE note = 'before'") == "1" }
        XCTAssertTrue(replayedBefore, "the standby did not replay the first marker")

        let fine = try await container.run(["container", "status"])
        XCTAssertEqual(fine.exitCode, 0, "\(fine)")
        XCTAssertTrue(fine.stdout.contains("file system:      "), fine.stdout)

        // A checkpoint for the standby to turn into a restartpoint when `snapshot create` asks
        // (on the full disk), and a fresh segment that pg_receivewal has just zero-filled.
        try upstream.sql("CHECKPOINT")
        let switched = try XCTUnwrap(upstream.scalar("SELECT pg_switch_wal()"))
        // pg_walfile_name of a segment boundary names the segment before it.
        let next = try XCTUnwrap(upstream.scalar("SELECT pg_walfile_name(pg_current_wal_lsn() + 1)"))
        let ready = await eventually(timeout: 60) {
            FileManager.default.fileExists(atPath: container.layout.walArchive + "/" + next + ".partial")
                && container.standbyScalar("SELECT pg_last_wal_replay_lsn() >= '\(switched)'::pg_lsn") == "t"
        }
        XCTAssertTrue(ready, "\(next).partial did not appear or the standby did not replay the checkpoint at \(switched): replayed \(container.standbyScalar("SELECT pg_last_wal_replay_lsn()") ?? "-"), archive \((try? FileManager.default.contentsOfDirectory(atPath: container.layout.walArchive).sorted()) ?? [])")

        // disk_warning at 25 % (100 MiB): low space shows with enough left to stream on.
        try "disk_warning = '25%'\n".data(using: .utf8)!.append(to: container.layout.configFile)
        // Ballast: leave about 70 MiB, below disk_warning, above disk_critical (5 %, 20 MiB).
        let ballast = small + "/" + (container.scratch as NSString).lastPathComponent + ".ballast"
        self.ballast = ballast
        try fill(ballast, leaving: 70 << 20, on: container.path)
        let low = try await container.run(["container", "status"])
        XCTAssertEqual(low.exitCode, 1, "little free space makes the container degraded: \(low)")
        XCTAssertTrue(low.stdout.contains("file system:      LOW"), low.stdout)
        XCTAssertTrue(low.stdout.contains("little free space on the container's file system: "), low.stdout)
        XCTAssertTrue(low.stdout.contains("(below disk_warning, 100.0 MiB)"), low.stdout)
        let lowCheck = try await container.run(["check"])
        XCTAssertEqual(lowCheck.exitCode, 1, "\(lowCheck)")
        XCTAssertTrue(lowCheck.stdout.contains("free space: WARNING ("), lowCheck.stdout)
        XCTAssertTrue(lowCheck.stdout.contains("below disk_warning (100.0 MiB)"), lowCheck.stdout)

        // Full: about 6 MiB left (as statvfs says; btrfs keeps some more in reserve).
        try fill(ballast, leaving: 6 << 20, on: container.path)
        var outage: [String] = []
        func mark(_ note: String, filler: Bool) throws {
            try upstream.sql("INSERT INTO markers (note) VALUES ('\(note)')")
            // 8 MiB of WAL that compresses poorly.
            if filler { try upstream.sql("INSERT INTO filler (payload) SELECT string_agg(md5(random()::text), '') FROM generate_series(1, 256 * 1024 / 32) s, generate_series(1, 32) r GROUP BY r") }
            outage.append(note)
            _ = try upstream.scalar("SELECT pg_switch_wal()")
        }
        for round in 1...3 { try mark("outage-\(round)", filler: true) }
        // The logs live on the full file system too: a first "No space left on device" may be
        // lost; pg_receivewal retries every 5 s, and a short segment tells its own story.
        var diagnosed: ContainerStatus?
        let reported = await eventually(timeout: 60, interval: 2) {
            guard let json = try? await container.run(["container", "status", "--json"]),
                  let status = try? SnapshotStore.decoder.decode(ContainerStatus.self, from: Data(json.stdout.utf8)) else { return false }
            diagnosed = status
            // A "No space left on device" the logs kept (or a short segment), or statvfs.
            return !(status.noSpaceErrors ?? []).isEmpty || status.fileSystemFreeBytes.map { $0 < status.fileSystemCriticalBytes ?? 0 } == true
        }
        XCTAssertTrue(reported, "status never reported the full disk: \(String(describing: diagnosed?.problems))\nreceiver log:\n\(LogFile.tail(container.layout.receiverLog, lines: 20))")
        let tornSeen = !WALReceiver(container: try Container.open(path: container.path)).tornPartialSegments().isEmpty
        print("pg_receivewal left a short, zero-filled .partial: \(tornSeen); wal_archive/: \(((try? FileManager.default.contentsOfDirectory(atPath: container.layout.walArchive)) ?? []).sorted().map { "\($0) \(LogFile.size(container.layout.walArchive + "/" + $0))" })\nreceiver log:\n\(LogFile.tail(container.layout.receiverLog, lines: 8))")

        // status and check name the cause.
        let full = try await container.run(["container", "status"])
        XCTAssertEqual(full.exitCode, 1, "\(full)")
        XCTAssertTrue(full.stdout.contains("no space left on the container's file system: ")
                      || full.stdout.contains("almost no free space on the container's file system: "), full.stdout)
        XCTAssertTrue(full.stdout.contains("file system:      FULL"), full.stdout)
        print("status on the full file system:\n\(full.stdout)")
        let fullJSON = try await container.run(["container", "status", "--json"])
        let status = try SnapshotStore.decoder.decode(ContainerStatus.self, from: Data(fullJSON.stdout.utf8))
        XCTAssertEqual(status.health, .degraded)
        XCTAssertEqual(status.diskSpaceLevel(), .critical, fullJSON.stdout)
        let check = try await container.run(["check"])
        XCTAssertEqual(check.exitCode, 2, "\(check)")
        XCTAssertTrue(check.stdout.contains("free space: CRITICAL ("), check.stdout)
        let metrics = try await container.run(["metrics"])
        XCTAssertTrue(metrics.stdout.contains("pgarchive_filesystem_space_level{container=\"\(container.path)\"} 2"), metrics.stdout)
        XCTAssertEqual(metrics.stdout.contains("pgarchive_no_space_errors{container=\"\(container.path)\"} 0"), (status.noSpaceErrors ?? []).isEmpty, metrics.stdout)
        try await assertNoTornSegmentOrSnapshot(container, "while full")

        // A snapshot on a full file system: made whole or refused clearly, never half-made.
        let snapshotsBefore = try SnapshotStore.decoder.decode([SnapshotMetadata].self, from: Data(try await container.ok(["snapshot", "list", "--json"]).stdout.utf8)).map(\.name)
        let snapshot = try await container.run(["snapshot", "create", "--force"])
        print("snapshot create on the full file system: \(snapshot)")
        if snapshot.exitCode != 0 {
            XCTAssertTrue(snapshot.stderr.contains("pgarchive: error: "), "\(snapshot)")
        }
        // compress-wal on a full file system keeps every original it could not replace.
        let compress = try await container.run(["cron", "compress-wal", "--no-wait"])
        print("cron compress-wal on the full file system: \(compress)")
        if compress.exitCode != 0 {
            XCTAssertTrue(compress.stderr.contains("error"), "\(compress)")
        }
        try await assertNoTornSegmentOrSnapshot(container, "after snapshot create and compress-wal on a full disk")
        let rerun = try await container.run(["snapshot", "create", "--force"])
        XCTAssertTrue(rerun.exitCode == 0 || rerun.stderr.contains("pgarchive: error: "), "\(rerun)")
        try await assertNoTornSegmentOrSnapshot(container, "after a second snapshot create")
        let snapshotsAfter = try SnapshotStore.decoder.decode([SnapshotMetadata].self, from: Data(try await container.ok(["snapshot", "list", "--json"]).stdout.utf8)).map(\.name)
        XCTAssertTrue(Set(snapshotsBefore).isSubset(of: snapshotsAfter), "a snapshot disappeared: \(snapshotsBefore) → \(snapshotsAfter)")
        // The offline checks find nothing wrong (they may be unable to record their result).
        let offline = try await container.run(["verify"])
        print("verify on the full file system: \(offline)")
        XCTAssertNotEqual(offline.exitCode, 1, "verify found problems in the archive on the full disk: \(offline)")

        // Free the space; only the watchdog (what cron runs every minute) may act.
        try FileManager.default.removeItem(atPath: ballast)
        self.ballast = nil
        try upstream.sql("INSERT INTO markers (note) VALUES ('after')")
        outage.append("after")
        let lastSegment = try XCTUnwrap(upstream.scalar("SELECT pg_walfile_name(pg_current_wal_lsn())"))
        _ = try upstream.scalar("SELECT pg_switch_wal()")
        var watchdogRuns: [PGArchiveBinary.Result] = []
        let caughtUp = await eventually(timeout: 300, interval: 5) {
            if let run = try? await container.run(["cron", "watchdog", "--no-wait"]) { watchdogRuns.append(run) }
            let names = (try? FileManager.default.contentsOfDirectory(atPath: container.layout.walArchive)) ?? []
            guard names.contains(where: { $0.hasPrefix(lastSegment) }) else { return false }
            return container.standbyScalar("SELECT count(*) FROM markers WHERE note = 'after'") == "1"
        }
        XCTAssertTrue(caughtUp, "no catch-up after freeing space; watchdog runs:\n\(watchdogRuns.suffix(3).map(\.description).joined(separator: "\n"))\nreceiver log:\n\(LogFile.tail(container.layout.receiverLog, lines: 15))\nstandby log:\n\(LogFile.tail(container.layout.standbyLog, lines: 15))")
        print("watchdog runs after freeing space:\n\(watchdogRuns.map(\.description).joined(separator: "\n"))")
        let replayed = Set((container.standbyScalar("SELECT string_agg(note, ',') FROM markers") ?? "").split(separator: ",").map(String.init))
        XCTAssertEqual(Set(outage).subtracting(replayed), [], "markers written during the outage are missing on the standby")

        try await assertNoTornSegmentOrSnapshot(container, "after catching up")
        try await container.ok(["cron", "watchdog", "--no-wait"])
        let verify = try await container.run(["verify", "--restore"])
        XCTAssertEqual(verify.exitCode, 0, "\(verify)")
        let ok = await eventually(timeout: 60, interval: 2) {
            (try? await container.run(["container", "status"]))?.exitCode == 0
        }
        let final = try await container.run(["container", "status"])
        XCTAssertTrue(ok, "status did not return to ok: \(final)")
        XCTAssertTrue(final.stdout.contains("health:           ok"), final.stdout)
        XCTAssertFalse(final.stdout.contains("No space left"), final.stdout)
        let finalCheck = try await container.run(["check"])
        XCTAssertTrue(finalCheck.stdout.contains("free space: OK"), finalCheck.stdout)
    }

    /// What pg_receivewal leaves when the file system fills up while it zero-fills a new
    /// segment, made on purpose (a real full disk hits it only by chance): a short `.partial`
    /// of zeros it then refuses on every retry. Status names it; `cron watchdog` removes it
    /// and restarts pg_receivewal, which streams the segment again from the slot.
    func testWatchdogRestartsReceiverStuckOnASegmentItCouldNotZeroFill() async throws {
        let upstream = try await UpstreamCluster(name: "shortsegment")
        self.upstream = upstream
        try upstream.sql("CREATE TABLE markers (id serial PRIMARY KEY, note text NOT NULL)")
        let container = try ContainerFixture(name: "c")
        self.container = container
        try await container.initContainer(upstream: upstream)

        // A fresh segment, zero-filled by pg_receivewal, with the one before it complete.
        try upstream.sql("INSERT INTO markers (note) VALUES ('before')")
        let switched = try XCTUnwrap(upstream.scalar("SELECT pg_switch_wal()"))
        let previous = try XCTUnwrap(upstream.scalar("SELECT pg_walfile_name('\(switched)')"))
        let next = try XCTUnwrap(upstream.scalar("SELECT pg_walfile_name(pg_current_wal_lsn() + 1)"))
        let short = container.layout.walArchive + "/" + next + ".partial"
        let started = await eventually(timeout: 60) {
            FileManager.default.fileExists(atPath: container.layout.walArchive + "/" + previous)
                && FileManager.default.fileExists(atPath: short)
        }
        XCTAssertTrue(started, "pg_receivewal did not finish \(previous) and start \(next)")

        // Stop pgarchive's pg_receivewal, leave the short segment, and run pg_receivewal the
        // way pgarchive does (same argv, log and pid file), so pgarchive sees it running.
        let receiver = try XCTUnwrap(container.receiverPID())
        let argv = try XCTUnwrap(Processes.commandLine(of: receiver))
        XCTAssertEqual(kill(receiver, SIGTERM), 0)
        let gone = await eventually(timeout: 30) { !Processes.isAlive(receiver) }
        XCTAssertTrue(gone, "pg_receivewal \(receiver) did not stop")
        try FileManager.default.removeItem(atPath: short)
        try Data(count: 13_004_800).write(to: URL(fileURLWithPath: short))
        // Stuck for a while: pgarchive leaves a short segment alone for its first seconds,
        // when pg_receivewal may still be zero-filling it.
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-120)], ofItemAtPath: short)
        let stray = try ToolCommand(executable: argv[0], arguments: Array(argv.dropFirst())).spawnDetached(logFile: container.layout.receiverLog)
        strayReceiver = stray
        try "\(stray)\n".write(toFile: container.layout.receiverPidFile, atomically: true, encoding: .utf8)
        let refused = await eventually(timeout: 30) {
            DiskSpace.currentNoSpaceLine(logFile: container.layout.receiverLog, progressMarkers: DiskSpace.receiverProgressMarkers)?
                .contains("\"\(next).partial\" has 13004800 bytes, should be 0 or 16777216") == true
        }
        XCTAssertTrue(refused, "pg_receivewal did not refuse the short segment:\n\(LogFile.tail(container.layout.receiverLog, lines: 10))")
        try upstream.sql("INSERT INTO markers (note) VALUES ('while-stuck')")
        _ = try upstream.scalar("SELECT pg_switch_wal()")

        let stuck = try await container.run(["container", "status", "--json"])
        let status = try SnapshotStore.decoder.decode(ContainerStatus.self, from: Data(stuck.stdout.utf8))
        XCTAssertEqual(status.health, .degraded, stuck.stdout)
        XCTAssertTrue((status.noSpaceErrors ?? []).contains("pg_receivewal could not finish zero-filling \(next).partial (13004800 bytes): No space left on device"), stuck.stdout)
        XCTAssertTrue((status.noSpaceErrors ?? []).contains { $0.hasPrefix("\(container.layout.receiverLog) says: ") && $0.hasSuffix("should be 0 or 16777216") }, stuck.stdout)
        let check = try await container.run(["check"])
        XCTAssertEqual(check.exitCode, 2, "\(check)")
        XCTAssertTrue(check.stdout.contains("free space: CRITICAL (No space left on device: "), check.stdout)

        // The watchdog alone gets it going again.
        let watchdog = try await container.run(["cron", "watchdog", "--no-wait"])
        XCTAssertEqual(watchdog.exitCode, 0, "\(watchdog)")
        XCTAssertTrue(watchdog.stderr.contains("pg_receivewal cannot continue past \(next).partial"), watchdog.stderr)
        XCTAssertTrue(watchdog.stderr.contains("removed \(short): 13004800 bytes of zeros, a segment pg_receivewal began to zero-fill and could not finish"), watchdog.stderr)
        XCTAssertFalse(Processes.isAlive(stray), "the stuck pg_receivewal \(stray) still runs")
        if Processes.isAlive(stray) { kill(stray, SIGKILL) }
        var reaped: Int32 = 0
        _ = waitpid(stray, &reaped, 0)
        strayReceiver = nil
        let restarted = try XCTUnwrap(container.receiverPID())
        XCTAssertNotEqual(restarted, stray)
        XCTAssertTrue(Processes.isAlive(restarted))
        let run = try SnapshotStore.decoder.decode(CronRun.self, from: Data(contentsOf: URL(fileURLWithPath: container.layout.run + "/cron_watchdog.json")))
        XCTAssertEqual(run.result, .ok, run.message)
        XCTAssertTrue(run.message.contains("removed the short \(next).partial left by a full file system"), run.message)
        XCTAssertTrue(run.message.contains("restarted pg_receivewal"), run.message)

        let caughtUp = await eventually(timeout: 90) {
            container.standbyScalar("SELECT count(*) FROM markers WHERE note = 'while-stuck'") == "1"
        }
        XCTAssertTrue(caughtUp, "the marker written while pg_receivewal was stuck did not reach the standby:\n\(LogFile.tail(container.layout.receiverLog, lines: 10))")
        let attributes = try FileManager.default.attributesOfItem(atPath: container.layout.walArchive + "/" + next)
        XCTAssertEqual((attributes[.size] as? NSNumber)?.int64Value, Self.segmentSize, "\(next) is complete and whole")
        let fine = await eventually(timeout: 30, interval: 1) {
            (try? await container.run(["container", "status"]))?.exitCode == 0
        }
        let final = try await container.run(["container", "status"])
        XCTAssertTrue(fine, "\(final)")
        XCTAssertFalse(final.stdout.contains("No space left"), final.stdout)
        let verify = try await container.run(["verify"])
        XCTAssertEqual(verify.exitCode, 0, "\(verify)")
    }
}
