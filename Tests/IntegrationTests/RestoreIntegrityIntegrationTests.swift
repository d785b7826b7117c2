import Foundation
import PGArchiveCore
import PGArchiveTestSupport
import Postgres
import XCTest

/// A restore reaches its target or fails (docs/ARCHITECTURE.md, invariants): a gap in the WAL is
/// named before anything starts, a clone whose recovery ended short is caught after its
/// promotion, `wal fetch` stops recovery on a broken configuration instead of reporting
/// "not in the archive", and `restore --to` includes the WAL kept from before a resync.
final class RestoreIntegrityIntegrationTests: XCTestCase {
    var upstreams: [UpstreamCluster] = []
    var containers: [ContainerFixture] = []
    var scratches: [String] = []

    static var pgCtl: String { UpstreamCluster.bindir + "/pg_ctl" }

    override func tearDown() async throws {
        for directory in scratches {
            let data = directory + "/data"
            if FileManager.default.fileExists(atPath: data + "/postmaster.pid") {
                _ = try? await ToolCommand(executable: Self.pgCtl, arguments: ["-D", data, "-m", "immediate", "-w", "-t", "60", "stop"]).run()
            }
            try? FileManager.default.removeItem(atPath: directory)
        }
        for container in containers.reversed() {
            await container.stopClones()
            await container.destroy()
        }
        for upstream in upstreams.reversed() { await upstream.destroy() }
        scratches = []
        containers = []
        upstreams = []
    }

    // MARK: helpers

    func makeUpstreamAndContainer() async throws -> (UpstreamCluster, ContainerFixture) {
        let upstream = try await UpstreamCluster(name: "integrity")
        upstreams.append(upstream)
        try upstream.sql("CREATE TABLE markers (id serial PRIMARY KEY, note text NOT NULL)")
        let container = try ContainerFixture(name: "c")
        containers.append(container)
        try await container.initContainer(upstream: upstream)
        return (upstream, container)
    }

    @discardableResult
    func mark(_ upstream: UpstreamCluster, _ note: String) throws -> Int {
        try XCTUnwrap(Int(try XCTUnwrap(upstream.scalar("INSERT INTO markers (note) VALUES ($1) RETURNING id", [note]))))
    }

    /// CHECKPOINT upstream, close its segment, wait for the standby to replay it, snapshot.
    func freshSnapshot(_ container: ContainerFixture, _ upstream: UpstreamCluster) async throws -> String {
        try upstream.sql("CHECKPOINT")
        let switched = try XCTUnwrap(upstream.scalar("SELECT pg_switch_wal()"))
        let replayed = await eventually(timeout: 60, interval: 0.2) {
            container.standbyScalar("SELECT pg_last_wal_replay_lsn() >= '\(switched)'::pg_lsn") == "t"
        }
        XCTAssertTrue(replayed, "the standby did not replay past \(switched)")
        return try await container.ok(["snapshot", "create"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Waits until pg_receivewal has written the upstream's WAL up to its current insert
    /// position into the archive (complete or `.partial`).
    func waitUntilArchived(_ upstream: UpstreamCluster, _ container: ContainerFixture) async throws {
        let lsn = try XCTUnwrap(upstream.scalar("SELECT pg_current_wal_insert_lsn()"))
        let row = try XCTUnwrap(upstream.connect().query("SELECT file_name, file_offset FROM pg_walfile_name_offset($1::pg_lsn)", [lsn]).rows.first)
        let segment = try XCTUnwrap(row[0]), length = Int(try XCTUnwrap(row[1]))!
        func prefix(_ path: String) -> Data? {
            guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
            defer { try? handle.close() }
            return try? handle.read(upToCount: length)
        }
        let archive = container.layout.walArchive + "/" + segment
        let same = await eventually(timeout: 60, interval: 0.2) {
            guard let source = prefix(upstream.dataDirectory + "/pg_wal/" + segment), source.count == length else { return false }
            return prefix(archive + ".partial") == source || prefix(archive) == source
        }
        XCTAssertTrue(same, "pg_receivewal did not write the WAL up to \(lsn) into \(archive)[.partial]")
    }

    func cloneIDs(_ container: ContainerFixture, _ name: String) throws -> [Int] {
        let data = try Data(contentsOf: URL(fileURLWithPath: container.layout.clone(name) + "/pgarchive.clone.json"))
        let metadata = try SnapshotStore.decoder.decode(CloneMetadata.self, from: data)
        let connection = try Connection(conninfo: "host=\(container.layout.run) port=\(metadata.port) dbname=postgres user=\(try container.config().standbyUser)", connectTimeout: 5)
        defer { connection.close() }
        XCTAssertEqual(try connection.query("SELECT pg_is_in_recovery()").rows.first?[0], "f", "clone \(name) is not promoted")
        return try connection.query("SELECT id FROM markers ORDER BY id").rows.map { Int($0[0]!)! }
    }

    func assertNotRunning(_ container: ContainerFixture, _ name: String, file: StaticString = #filePath, line: UInt = #line) {
        if let pid = Processes.readPIDFile(container.layout.clone(name) + "/postmaster.pid") {
            let alive = Processes.isAlive(pid) && Processes.commandLine(of: pid)?.first?.hasSuffix("postgres") == true
            XCTAssertFalse(alive, "clone \(name)'s postmaster (pid \(pid)) is still running", file: file, line: line)
        }
    }

    func clusterState(_ dataDirectory: String) async throws -> String {
        let out = try await ToolCommand(executable: UpstreamCluster.bindir + "/pg_controldata", arguments: [dataDirectory]).runChecked()
        return out.standardOutput.split(separator: "\n").first { $0.hasPrefix("Database cluster state:") }.map(String.init) ?? "?"
    }

    // MARK: - 1. a gap fails before anything starts; a recovery ended short fails after it

    func testGapAndShortRecoveryFailLoudly() async throws {
        let (upstream, container) = try await makeUpstreamAndContainer()
        try mark(upstream, "before-snapshot")
        _ = try await freshSnapshot(container, upstream)
        // Four segments after the snapshot's REDO segment, each with a marker, then the newest
        // marker in the .partial segment.
        var segments: [String] = []
        for i in 1...4 {
            try mark(upstream, "segment-\(i)")
            segments.append(try XCTUnwrap(upstream.scalar("SELECT pg_walfile_name(pg_current_wal_lsn())")))
            _ = try upstream.scalar("SELECT pg_switch_wal()")
        }
        let newest = try mark(upstream, "newest")
        try await waitUntilArchived(upstream, container)
        let archive = container.layout.walArchive
        for segment in segments { XCTAssertTrue(FileManager.default.fileExists(atPath: archive + "/" + segment), "\(segment) not archived") }

        // A gap: the second of them is gone.
        let missing = segments[1]
        let aside = container.scratch + "/" + missing
        try FileManager.default.moveItem(atPath: archive + "/" + missing, toPath: aside)

        let clone = try await container.run(["clone", "create", "gap", "--latest", "--start"])
        XCTAssertNotEqual(clone.exitCode, 0, "a clone across a gap must fail: \(clone)")
        XCTAssertTrue(clone.stderr.contains("WAL segment \(missing) is missing"), clone.stderr)
        XCTAssertTrue(clone.stderr.contains("No server was started"), clone.stderr)
        assertNotRunning(container, "gap")
        XCTAssertFalse(FileManager.default.fileExists(atPath: container.layout.clone("gap") + "/pg_wal/00000002.history"), "the clone was promoted")

        let restoreScratch = try TemporaryDirectory.make(prefix: "pgarchive-integrity")
        scratches.append(restoreScratch)
        let restore = try await container.run(["restore", "--to", restoreScratch + "/data", "--latest"])
        XCTAssertNotEqual(restore.exitCode, 0, "restore --to across a gap must fail: \(restore)")
        XCTAssertTrue(restore.stderr.contains("WAL segment \(missing) is missing"), restore.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: restoreScratch + "/data"), "restore --to wrote a restore with a gap")

        let verify = try await container.run(["verify", "--restore"])
        XCTAssertNotEqual(verify.exitCode, 0, "\(verify)")
        let verifyText = verify.stdout + verify.stderr
        XCTAssertTrue(verifyText.contains("did not restore") && verifyText.contains(missing), verifyText)
        XCTAssertEqual(((try? FileManager.default.contentsOfDirectory(atPath: container.layout.clones)) ?? []).filter { $0.hasPrefix("verify-") }, [])

        // With the segment back, the same clone starts and has every marker.
        try FileManager.default.moveItem(atPath: aside, toPath: archive + "/" + missing)
        try await container.ok(["clone", "start", "gap"])
        XCTAssertEqual(try cloneIDs(container, "gap"), Array(1...newest))
        try await container.ok(["clone", "delete", "--force", "gap"])

        // A recovery that ends short although every file is there: the first record of the
        // third segment is zeroed, so replay ends at the second segment's end and PostgreSQL
        // promotes there. Only the check after promotion can see it.
        let corrupt = archive + "/" + segments[2]
        let handle = try XCTUnwrap(FileHandle(forUpdatingAtPath: corrupt))
        try handle.seek(toOffset: 40) // after the long page header
        try handle.write(contentsOf: Data(count: 8192 - 40))
        try handle.close()
        let short = try await container.run(["clone", "create", "short", "--latest", "--start"])
        XCTAssertNotEqual(short.exitCode, 0, "a clone that promoted short must fail: \(short)")
        XCTAssertTrue(short.stderr.contains("did not reach its target"), short.stderr)
        XCTAssertTrue(short.stderr.contains("before the last WAL record in the archive"), short.stderr)
        XCTAssertTrue(short.stderr.contains("The clone is stopped"), short.stderr)
        assertNotRunning(container, "short")
    }

    // MARK: - 2. wal fetch: a broken configuration stops recovery

    func testBrokenConfigurationDuringRecoveryStopsRecovery() async throws {
        let (upstream, container) = try await makeUpstreamAndContainer()
        try mark(upstream, "before-snapshot")
        _ = try await freshSnapshot(container, upstream)
        let newest = try mark(upstream, "after-snapshot")
        try await waitUntilArchived(upstream, container)
        try await container.ok(["clone", "create", "cfg", "--latest"])

        // The clone's server runs restore_command in its data directory, `clone start` in the
        // test's: a relative $PGARCHIVE_CONF names a malformed file only for `wal fetch`, as if
        // the global configuration broke while the clone recovers.
        let broken = "pgarchive-broken.conf"
        XCTAssertFalse(FileManager.default.fileExists(atPath: FileManager.default.currentDirectoryPath + "/" + broken))
        try "expire_after = 'unterminated\n".write(toFile: container.layout.clone("cfg") + "/" + broken, atomically: true, encoding: .utf8)
        let started = try await container.run(["clone", "start", "cfg"], environment: ["PGARCHIVE_CONF": broken])
        XCTAssertNotEqual(started.exitCode, 0, "the clone must not start with a broken configuration: \(started)")
        XCTAssertTrue(started.stderr.contains("could not restore file"), started.stderr)
        assertNotRunning(container, "cfg")
        let log = (try? String(contentsOfFile: container.layout.logs + "/clone_cfg.log", encoding: .utf8)) ?? ""
        XCTAssertTrue(log.contains("pgarchive wal fetch") && log.contains(broken), log)
        XCTAssertTrue(log.contains("FATAL:  could not restore file"), log)
        XCTAssertFalse(log.contains("database system is ready to accept connections"), log)
        XCTAssertFalse(FileManager.default.fileExists(atPath: container.layout.clone("cfg") + "/pg_wal/00000002.history"), "the clone was promoted")
        let state = try await clusterState(container.layout.clone("cfg"))
        XCTAssertTrue(state.contains("recovery"), "the clone left recovery: \(state)")

        // The configuration repaired, the same clone recovers everything.
        try await container.ok(["clone", "start", "cfg"])
        XCTAssertEqual(try cloneIDs(container, "cfg"), Array(1...newest))
    }

    // MARK: - 10. restore --to a snapshot from before a resync

    func testPreResyncSnapshotRestoresWithRestoreTo() async throws {
        let (upstream, container) = try await makeUpstreamAndContainer()
        try mark(upstream, "before-snapshot")
        let snapshot = try await freshSnapshot(container, upstream)
        let before = try mark(upstream, "before-target")
        let targetSegment = try XCTUnwrap(upstream.scalar("SELECT pg_walfile_name(pg_current_wal_lsn())"))
        try await Task.sleep(for: .milliseconds(200))
        let target = try XCTUnwrap(upstream.scalar("SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US') || 'Z'"))
        try await Task.sleep(for: .milliseconds(200))
        try mark(upstream, "after-target")
        _ = try upstream.scalar("SELECT pg_switch_wal()")
        try await waitUntilArchived(upstream, container)
        // The new slot reserves WAL from the upstream's last checkpoint: make it a later one,
        // so the WAL of the target exists only in before-resync-*.
        try upstream.sql("CHECKPOINT")
        _ = try upstream.scalar("SELECT pg_switch_wal()")

        try await container.ok(["container", "resync"])
        try mark(upstream, "after-resync")
        let archive = container.layout.walArchive
        let retired = try FileManager.default.contentsOfDirectory(atPath: archive).filter { $0.hasPrefix("before-resync-") }
        XCTAssertEqual(retired.count, 1, "resync keeps the old WAL in before-resync-*")
        XCTAssertFalse(FileManager.default.fileExists(atPath: archive + "/" + targetSegment), "\(targetSegment) is in wal_archive/ after the resync")
        XCTAssertFalse(FileManager.default.fileExists(atPath: archive + "/" + targetSegment + ".partial"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: archive + "/" + (retired.first ?? "") + "/" + targetSegment), "\(targetSegment) not kept")

        let scratch = try TemporaryDirectory.make(prefix: "pgarchive-integrity")
        scratches.append(scratch)
        let data = scratch + "/data"
        let port = try FreePort.find()
        let restored = try await container.run(["restore", "--to", data, "--time", target, "--snapshot", snapshot,
                                                "--port", String(port), "--socket-directory", scratch])
        XCTAssertEqual(restored.exitCode, 0, "\(restored)")
        guard restored.exitCode == 0 else { return }
        let log = data + ".log"
        let start = try await ToolCommand(executable: Self.pgCtl, arguments: ["-D", data, "-l", log, "-w", "-t", "120", "start"]).run()
        let logText = { (try? String(contentsOfFile: log, encoding: .utf8)).map { String($0.suffix(3000)) } ?? "(no log)" }
        XCTAssertEqual(start.exitCode, 0, "pg_ctl start: \(start.standardError)\n\(logText())")
        let conninfo = "host=\(scratch) port=\(port) dbname=postgres user=\(try container.config().standbyUser)"
        let promoted = await eventually(timeout: 120, interval: 0.25) {
            guard let c = try? Connection(conninfo: conninfo, connectTimeout: 3) else { return false }
            defer { c.close() }
            return (try? c.query("SELECT pg_is_in_recovery()").rows.first?[0]) == "f"
        }
        XCTAssertTrue(promoted, "the restored server did not finish recovery:\n\(logText())")
        guard promoted else { return }
        let connection = try Connection(conninfo: conninfo, connectTimeout: 5)
        defer { connection.close() }
        let notes = try connection.query("SELECT note FROM markers ORDER BY id").rows.compactMap { $0[0] }
        XCTAssertEqual(notes, ["before-snapshot", "before-target"], "restore --to \(target) from the pre-resync snapshot\n\(logText())")
        XCTAssertEqual(before, 2)
    }
}
