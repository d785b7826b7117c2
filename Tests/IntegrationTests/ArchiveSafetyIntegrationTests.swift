import Foundation
import PGArchiveCore
import PGArchiveTestSupport
import Postgres
import XCTest

/// Issue 18 items 5, 6, 7, 9 and 11 end to end: a standby never comes up as a primary;
/// promoted clones and unreadable snapshots in WAL expiry; liveness by data directory;
/// WAL segment sizes other than 16 MiB and an invalidated slot.
final class ArchiveSafetyIntegrationTests: XCTestCase {
    var upstreams: [UpstreamCluster] = []
    var containers: [ContainerFixture] = []
    var strangers: [Process] = []

    override func tearDown() async throws {
        for stranger in strangers where stranger.isRunning {
            kill(stranger.processIdentifier, SIGKILL)
            stranger.waitUntilExit()
        }
        for container in containers.reversed() { await container.destroy() }
        for upstream in upstreams.reversed() { await upstream.destroy() }
        strangers = []
        containers = []
        upstreams = []
    }

    func makeUpstream(_ name: String = "safety", initdbArguments: [String] = []) async throws -> UpstreamCluster {
        let upstream = try await UpstreamCluster(name: name, initdbArguments: initdbArguments)
        upstreams.append(upstream)
        return upstream
    }

    func makeContainer() throws -> ContainerFixture {
        let container = try ContainerFixture()
        containers.append(container)
        return container
    }

    /// A process that is not PostgreSQL but whose argv looks like it: /bin/sleep run through a
    /// symlink named `postgres` (like `runuser -u postgres -- …`, it would pass a name match).
    func startStranger(in directory: String) throws -> pid_t {
        let link = directory + "/postgres"
        try? FileManager.default.removeItem(atPath: link)
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: "/bin/sleep")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: link)
        process.arguments = ["600"]
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        try process.run()
        strangers.append(process)
        // Until the child has exec'd, /proc shows the test runner's own command line.
        let deadline = Date().addingTimeInterval(5)
        while Processes.commandLine(of: process.processIdentifier)?.first?.hasSuffix("postgres") != true, Date() < deadline {
            usleep(10_000)
        }
        XCTAssertTrue(Processes.commandLine(of: process.processIdentifier)?.first?.hasSuffix("postgres") == true)
        return process.processIdentifier
    }

    /// A postmaster.pid as PostgreSQL writes it, naming `pid`.
    func writePostmasterPID(_ pid: pid_t, dataDirectory: String) throws {
        let text = "\(pid)\n\(dataDirectory)\n\(Int(Date().timeIntervalSince1970))\n5432\n/tmp\n\n  5432001   0\nready   \n"
        try AtomicFile.write(text, to: dataDirectory + "/postmaster.pid")
    }

    func snapshotNames(_ container: ContainerFixture) throws -> [String] {
        try SnapshotStore(layout: container.layout).list().map(\.name)
    }

    /// Base names (no compression suffix) of the complete segments in wal_archive/.
    func segments(_ container: ContainerFixture) throws -> [WALFileName] {
        try WALArchive(directory: container.layout.walArchive).entries().map(\.name).filter { !$0.isHistory && !$0.isPartial }
    }

    // MARK: - items 9 and 5: liveness by data directory; a standby never comes up as a primary

    func testStandbyIsJudgedByItsDataDirectoryAndNeverStartsAsAPrimary() async throws {
        let upstream = try await makeUpstream()
        let container = try makeContainer()
        try await container.initContainer(upstream: upstream)
        let standbyDir = container.layout.standby
        try await container.ok(["clone", "create", "idle", "--immediate"])

        // 9a. The standby is down, and its postmaster.pid names a live stranger whose argv
        // says "postgres": the watchdog must restart the standby and leave the stranger alone.
        let stranger = try startStranger(in: container.scratch)
        try await container.ok(["standby", "stop"])
        try writePostmasterPID(stranger, dataDirectory: standbyDir)
        let status = try await container.run(["container", "status", "--json"])
        XCTAssertTrue(status.stdout.contains("\"stale\""), "status must not call the stranger the standby: \(status)")
        let watchdog = try await container.run(["cron", "watchdog"])
        XCTAssertEqual(watchdog.exitCode, 0, "\(watchdog)")
        XCTAssertTrue(Processes.isAlive(stranger), "the watchdog signalled pid \(stranger), which is not the standby")
        let answers = await eventually(timeout: 60) { container.standbyScalar("SELECT pg_is_in_recovery()") == "t" }
        XCTAssertTrue(answers, "the watchdog did not restart the standby: \(watchdog)")
        let newPID = try XCTUnwrap(container.standbyPID())
        XCTAssertNotEqual(newPID, stranger)
        XCTAssertEqual(try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(newPID)/cwd"), standbyDir)

        // 9b. A clone whose postmaster.pid names the stranger: `clone delete --force` deletes
        // it without signalling anyone.
        try writePostmasterPID(stranger, dataDirectory: container.layout.clone("idle"))
        let delete = try await container.run(["clone", "delete", "idle", "--force"])
        XCTAssertEqual(delete.exitCode, 0, "\(delete)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: container.layout.clone("idle")))
        try await Task.sleep(for: .milliseconds(200))
        XCTAssertTrue(Processes.isAlive(stranger), "clone delete --force signalled pid \(stranger), a stranger")

        // 5a. Without standby.signal neither `standby start` nor the watchdog starts anything.
        try await container.ok(["standby", "stop"])
        try FileManager.default.removeItem(atPath: standbyDir + "/standby.signal")
        for command in [["standby", "start"], ["standby", "restart"], ["cron", "watchdog"], ["container", "start"]] {
            let refused = try await container.run(command)
            XCTAssertNotEqual(refused.exitCode, 0, "pgarchive \(command.joined(separator: " ")): \(refused)")
            let text = refused.stderr + refused.stdout + ((try? String(contentsOfFile: container.layout.logs + "/cron_watchdog.log", encoding: .utf8)) ?? "")
            XCTAssertTrue(text.contains("\(standbyDir) has no standby.signal") && text.contains("`pgarchive container resync`"),
                          "pgarchive \(command.joined(separator: " ")) must say why and what to do: \(refused)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: standbyDir + "/postmaster.pid"), "pgarchive \(command.joined(separator: " ")) started the standby without standby.signal")
        }
        // The remedy in the message works.
        try AtomicFile.write("", to: standbyDir + "/standby.signal")
        try await container.ok(["standby", "start"])
        XCTAssertEqual(container.standbyScalar("SELECT pg_is_in_recovery()"), "t")

        // 5b. A standby that is not in recovery any more is never snapshotted.
        let before = try snapshotNames(container)
        try await ToolCommand(executable: upstream.binaries.path("pg_ctl"), arguments: ["-D", standbyDir, "-w", "-t", "60", "promote"]).runChecked()
        let promoted = await eventually(timeout: 60) { container.standbyScalar("SELECT pg_is_in_recovery()") == "f" }
        XCTAssertTrue(promoted)
        try upstream.sql("CHECKPOINT")
        for flags in [[], ["--force"]] {
            let refused = try await container.run(["snapshot", "create"] + flags)
            XCTAssertNotEqual(refused.exitCode, 0, "\(refused)")
            XCTAssertTrue(refused.stderr.contains("is not in recovery (pg_is_in_recovery() is false)") && refused.stderr.contains("`pgarchive container resync`"), "\(refused)")
        }
        // Stopped, its pg_control says "shut down": still refused.
        try await container.ok(["standby", "stop"])
        let stopped = try await container.run(["snapshot", "create", "--force"])
        XCTAssertNotEqual(stopped.exitCode, 0, "\(stopped)")
        XCTAssertTrue(stopped.stderr.contains("its pg_control says \"shut down\""), "\(stopped)")
        XCTAssertEqual(try snapshotNames(container), before, "no snapshot of a promoted standby may be taken")
        XCTAssertEqual(((try? FileManager.default.contentsOfDirectory(atPath: container.layout.snapshots)) ?? []).filter { $0.hasPrefix(".creating") }, [])
    }

    // MARK: - items 6 and 7: what holds back WAL expiry

    func testExpiryCountsOnlyClonesInRecoveryAndReadsSnapshotsWithoutMetadata() async throws {
        let upstream = try await makeUpstream()
        try upstream.sql("CREATE TABLE t (id int)")
        let container = try makeContainer()
        try await container.initContainer(upstream: upstream)
        let store = SnapshotStore(layout: container.layout)
        let s1 = try XCTUnwrap(try store.list().last)

        // A clone promoted now: its REDO point (its end-of-recovery checkpoint) stays here for ever.
        try await container.ok(["clone", "create", "promoted", "--snapshot", s1.name, "--latest", "--start"])
        let promotedControl = try await ControlData.read(dataDirectory: container.layout.clone("promoted"), binaries: upstream.binaries)
        XCTAssertEqual(promotedControl.clusterState, .inProduction)
        let promotedRedo = promotedControl.redoLocation.segmentNumber(segmentSize: s1.walSegmentSize)

        // More WAL, then S2 and a clone of it that was never started, then more WAL and S3.
        for i in 0..<3 {
            try upstream.sql("INSERT INTO t VALUES (\(i))")
            try await container.newCheckpointReplayed(upstream)
        }
        let s2 = try store.get(try await container.ok(["snapshot", "create"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        try await container.ok(["clone", "create", "unstarted", "--snapshot", s2.name, "--immediate"])
        for i in 3..<5 {
            try upstream.sql("INSERT INTO t VALUES (\(i))")
            try await container.newCheckpointReplayed(upstream)
        }
        let s3 = try store.get(try await container.ok(["snapshot", "create"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        let s2Segment = s2.redoSegment.segmentNumber(segmentSize: s2.walSegmentSize)!
        let between = try segments(container).filter { n in
            let number = n.segmentNumber(segmentSize: s1.walSegmentSize)!
            return n.timeline == 1 && number >= promotedRedo && number < s2Segment
        }
        XCTAssertFalse(between.isEmpty, "the test needs segments between the promoted clone's REDO (segment \(promotedRedo)) and S2's (\(s2Segment))")

        // 6. Expire everything but S3: the promoted clone holds nothing back, the unstarted clone
        // still holds S2's REDO segment.
        // EXPIRE_DATE a second ahead: every snapshot but the newest (which is always kept) expires.
        var now: [String: String?] { ["EXPIRE_DATE": ISO8601.utc(Date().addingTimeInterval(1))] }
        let expire = try await container.run(["snapshot", "expire"], environment: now)
        XCTAssertEqual(expire.exitCode, 0, "\(expire)")
        XCTAssertEqual(try store.list().map(\.name), [s3.name], "\(expire)")
        XCTAssertTrue(expire.stderr.contains("clone promoted is in production (promoted): it needs no WAL from the archive"), "\(expire)")
        let left = try segments(container)
        XCTAssertEqual(left.filter { $0.timeline == 1 && $0.segmentNumber(segmentSize: s1.walSegmentSize)! < s2Segment }.map(\.fileName), [],
                       "segments below the unstarted clone's REDO point must go; the promoted clone needs none of them\n\(expire)")
        XCTAssertTrue(left.contains { $0.baseName == s2.redoSegment.baseName }, "the unstarted clone still needs \(s2.redoSegment.baseName)\n\(expire)")

        // 7. A snapshot whose metadata is unreadable still holds back the WAL its pg_control needs.
        try await container.ok(["clone", "delete", "unstarted"])
        try await container.newCheckpointReplayed(upstream)
        let s4 = try store.get(try await container.ok(["snapshot", "create"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        try await container.newCheckpointReplayed(upstream)
        let s5 = try store.get(try await container.ok(["snapshot", "create"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        XCTAssertLessThan(s3.redoSegment.segmentNumber(segmentSize: s3.walSegmentSize)!, s5.redoSegment.segmentNumber(segmentSize: s5.walSegmentSize)!)
        let metadata = container.layout.snapshots + "/" + s3.name + ".json"
        let good = try Data(contentsOf: URL(fileURLWithPath: metadata))
        try AtomicFile.write("{ this is not json", to: metadata)
        let corrupt = try await container.run(["snapshot", "expire"], environment: now)
        XCTAssertEqual(corrupt.exitCode, 0, "\(corrupt)")
        XCTAssertEqual(try store.list().map(\.name), [s5.name], "S4 expires, S3 is not listed")
        XCTAssertFalse(FileManager.default.fileExists(atPath: container.layout.snapshot(s4.name)))
        XCTAssertTrue(try segments(container).contains { $0.baseName == s3.redoSegment.baseName },
                      "\(s3.redoSegment.baseName), which snapshot \(s3.name) needs, was deleted\n\(corrupt)")
        XCTAssertTrue(corrupt.stderr.contains("snapshot \(s3.name) has no readable metadata") && corrupt.stderr.contains("REDO point in its own pg_control, \(s3.redoLSN)") && corrupt.stderr.contains("`pgarchive snapshot delete \(s3.name)`"), "\(corrupt)")

        // A snapshot directory with neither metadata nor pg_control: no WAL is deleted at all.
        try AtomicFile.write(good, to: metadata)
        let bogus = container.layout.snapshots + "/2026-01-01T00:00:00Z"
        try FileManager.default.createDirectory(atPath: bogus, withIntermediateDirectories: false)
        let before = try segments(container)
        let blocked = try await container.run(["snapshot", "expire"], environment: now)
        XCTAssertEqual(blocked.exitCode, 0, "\(blocked)")
        XCTAssertEqual(try store.list().map(\.name), [s5.name], "S3 (readable again) expires")
        XCTAssertTrue(blocked.stdout.contains("delete no WAL: snapshot 2026-01-01T00:00:00Z has neither readable metadata"), "\(blocked)")
        XCTAssertEqual(try segments(container), before, "no WAL may be deleted while a snapshot's needs are unknown")
        try FileManager.default.removeItem(atPath: bogus)
        let after = try await container.run(["snapshot", "expire"], environment: now)
        XCTAssertEqual(after.exitCode, 0, "\(after)")
        XCTAssertFalse(try segments(container).contains { $0.baseName == s3.redoSegment.baseName }, "with S3 gone its WAL goes too\n\(after)")

        // A snapshot without readable metadata can be deleted by name, as the warning says.
        try FileManager.default.removeItem(atPath: container.layout.snapshots + "/" + s5.name + ".json")
        try await container.ok(["snapshot", "delete", s5.name])
        XCTAssertFalse(FileManager.default.fileExists(atPath: container.layout.snapshot(s5.name)))
        let unknown = try await container.run(["snapshot", "delete", "2026-01-01T00:00:00Z"])
        XCTAssertTrue(unknown.exitCode != 0 && unknown.stderr.contains("snapshot '2026-01-01T00:00:00Z' not found"), "\(unknown)")
    }

    // MARK: - item 11: 64 MiB segments across a log id boundary; an invalidated slot

    func testSixtyFourMiBSegmentsAndALostSlot() async throws {
        let upstream = try await makeUpstream("seg64", initdbArguments: ["--wal-segsize=64"])
        // Put the WAL just before a log id boundary (…0000003F → …00010000 0000), where 16 MiB
        // arithmetic sees a gap of 192 segments.
        await upstream.stop()
        try await ToolCommand(executable: upstream.binaries.path("pg_resetwal"),
                              arguments: ["-l", "00000001000000000000003E", "-D", upstream.dataDirectory]).runChecked()
        try await upstream.start()
        XCTAssertEqual(try upstream.scalar("SHOW wal_segment_size"), "64MB")
        try upstream.sql("CREATE TABLE markers (id int PRIMARY KEY)")
        let container = try makeContainer()
        try await container.initContainer(upstream: upstream)
        let s1 = try XCTUnwrap(try SnapshotStore(layout: container.layout).list().last)
        XCTAssertEqual(s1.walSegmentSize, 64 << 20)

        var lsnTarget = ""
        for id in 1...12 {
            try upstream.sql("INSERT INTO markers VALUES (\(id))")
            if id == 6 { lsnTarget = try XCTUnwrap(upstream.scalar("SELECT pg_current_wal_insert_lsn()")) }
            if id % 3 == 0 { _ = try upstream.scalar("SELECT pg_switch_wal()") }
        }
        try await container.newCheckpointReplayed(upstream)
        let names = try segments(container).map(\.fileName)
        XCTAssertTrue(names.contains("00000001000000000000003F") && names.contains("000000010000000100000000"), "the WAL must cross the log id boundary: \(names)")

        let statusJSON = try await container.ok(["container", "status", "--json"]).stdout
        let status = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(statusJSON.utf8)) as? [String: Any])
        XCTAssertEqual(status["missingSegments"] as? [String], [], statusJSON)
        XCTAssertEqual(status["health"] as? String, "ok", statusJSON)
        XCTAssertTrue((status["newestSegment"] as? String)?.hasPrefix("0000000100000001") == true, statusJSON)
        try await container.ok(["wal", "list"])
        let verify = try await container.run(["verify"])
        XCTAssertEqual(verify.exitCode, 0, "\(verify)")
        let check = try await container.run(["check"])
        XCTAssertTrue(check.stdout.contains("no WAL gap: OK"), "\(check)")

        // Clones replay across the boundary and are exact.
        try await container.ok(["clone", "create", "latest", "--latest", "--start"])
        try await container.ok(["clone", "create", "at-lsn", "--lsn", lsnTarget, "--start"])
        let user = try container.config().standbyUser
        for (name, expected) in [("latest", Array(1...12)), ("at-lsn", Array(1...6))] {
            let metadata = try CloneStore(layout: container.layout).get(name)
            let connection = try Connection(conninfo: "host=\(container.layout.run) port=\(metadata.port) dbname=postgres user=\(user)", connectTimeout: 5)
            defer { connection.close() }
            XCTAssertEqual(try connection.query("SELECT id FROM markers ORDER BY id").rows.map { Int($0[0]!)! }, expected, "clone \(name)")
            XCTAssertEqual(try connection.query("SELECT pg_is_in_recovery()").rows.first?[0], "f")
        }
        try await container.ok(["clone", "stop", "latest"])
        try await container.ok(["clone", "stop", "at-lsn"])

        // An invalidated slot is CRITICAL, with the remedy.
        try upstream.sql("ALTER SYSTEM SET max_slot_wal_keep_size = '64MB'")
        _ = try upstream.scalar("SELECT pg_reload_conf()")
        try await container.ok(["wal", "stop"])
        for id in 13...18 {
            try upstream.sql("INSERT INTO markers VALUES (\(id))")
            _ = try upstream.scalar("SELECT pg_switch_wal()")
        }
        let lost = try await eventually(timeout: 60) {
            try upstream.sql("CHECKPOINT")
            return try upstream.scalar("SELECT wal_status FROM pg_replication_slots") == "lost"
        }
        let walStatus = try upstream.scalar("SELECT wal_status FROM pg_replication_slots") ?? "?"
        XCTAssertTrue(lost, "the slot was not invalidated: wal_status \(walStatus)")
        let critical = try await container.run(["check"])
        XCTAssertEqual(critical.exitCode, 2, "\(critical)")
        XCTAssertTrue(critical.stdout.contains("upstream WAL kept by slot: CRITICAL (the upstream invalidated the replication slot (wal_status lost") && critical.stdout.contains("`pgarchive container resync`"), "\(critical)")
    }
}
