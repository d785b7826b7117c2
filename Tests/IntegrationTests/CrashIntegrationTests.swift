import Foundation
import PGArchiveCore
import PGArchiveTestSupport
import Postgres
import XCTest

/// The fault suite's "crash anywhere": `kill -9` of a pgarchive process stopped exactly in
/// the middle of `snapshot create`, `snapshot delete`, `snapshot expire`, `clone create` and
/// `cron compress-wal` (the test hook PGARCHIVE_TEST_PAUSE_AT holds it at a named point),
/// together with `kill -9` of pg_receivewal and the standby. After `cron watchdog` and a
/// rerun of the command, nothing is half-made or lost: the snapshots, segments and clones
/// that should exist do, `verify` finds no leftovers, and `verify --restore` passes with
/// every marker row in a `--latest` clone.
final class CrashIntegrationTests: XCTestCase {
    var upstreams: [UpstreamCluster] = []
    var containers: [ContainerFixture] = []
    /// pgarchive processes the test started in the background (killed in tearDown if alive).
    var spawned: [pid_t] = []
    var markers: [String] = []

    override func tearDown() async throws {
        for pid in spawned where Processes.isAlive(pid) {
            kill(pid, SIGKILL)
            _ = Processes.waitForExit(pid, timeout: 10)
        }
        for container in containers.reversed() { await container.destroy() }
        for upstream in upstreams.reversed() { await upstream.destroy() }
        spawned = []
        containers = []
        upstreams = []
    }

    // MARK: - helpers

    /// Inserts a marker upstream and closes its segment, so the standby replays it.
    func mark(_ upstream: UpstreamCluster, _ note: String) throws {
        try upstream.sql("INSERT INTO markers (note) VALUES ('\(note)')")
        _ = try upstream.scalar("SELECT pg_switch_wal()")
        markers.append(note)
    }

    func assertReplays(_ container: ContainerFixture, _ note: String, file: StaticString = #filePath, line: UInt = #line) async {
        let seen = await eventually(timeout: 120) {
            container.standbyScalar("SELECT count(*) FROM markers WHERE note = '\(note)'") == "1"
        }
        XCTAssertTrue(seen, "the standby did not replay marker '\(note)'", file: file, line: line)
    }

    /// Starts `pgarchive ARGS -C container` in the background, held at `point`; returns its pid
    /// once it is there. Fails the test if the process ends without reaching the point.
    func paused(_ container: ContainerFixture, _ arguments: [String], at point: String,
                environment extra: [String: String?] = [:],
                file: StaticString = #filePath, line: UInt = #line) async throws -> pid_t {
        let pauseFile = container.scratch + "/paused-\(point)"
        let log = container.scratch + "/paused-\(point).log"
        var environment = container.binary.environment
        environment[FaultInjection.pauseVariable] = point
        environment[FaultInjection.pauseFileVariable] = pauseFile
        for (key, value) in extra { environment[key] = value }
        let pid = try ToolCommand(executable: container.binary.path, arguments: arguments + ["-C", container.path],
                                  environment: environment).spawnDetached(logFile: log)
        spawned.append(pid)
        let there = await eventually(timeout: 180, interval: 0.05) {
            FileManager.default.fileExists(atPath: pauseFile) || !Processes.isAlive(pid)
        }
        let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        XCTAssertTrue(there && Processes.isAlive(pid), "pgarchive \(arguments.joined(separator: " ")) never reached \(point): \(output)", file: file, line: line)
        XCTAssertEqual(Processes.readPIDFile(pauseFile), pid, file: file, line: line)
        return pid
    }

    func killNine(_ pid: pid_t, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(kill(pid, SIGKILL), 0, "kill -9 \(what) (\(pid))", file: file, line: line)
        XCTAssertTrue(Processes.waitForExit(pid, timeout: 60), "\(what) (\(pid)) survived kill -9", file: file, line: line)
    }

    /// kill -9 of pg_receivewal and the standby's postmaster, then `cron watchdog` must bring
    /// both back (new pids) and the standby must replay what was written meanwhile.
    func killDaemonsAndWatchdog(_ upstream: UpstreamCluster, _ container: ContainerFixture, note: String,
                                file: StaticString = #filePath, line: UInt = #line) async throws {
        let receiver = try XCTUnwrap(container.receiverPID(), file: file, line: line)
        let postmaster = try XCTUnwrap(container.standbyPID(), file: file, line: line)
        XCTAssertEqual(kill(receiver, SIGKILL), 0, file: file, line: line)
        XCTAssertEqual(kill(postmaster, SIGKILL), 0, file: file, line: line)
        // The daemons are orphans reaped by init; wait until they are really gone.
        let gone = await eventually(timeout: 60) { !Processes.isAlive(receiver) && !Processes.isAlive(postmaster) }
        XCTAssertTrue(gone, "pg_receivewal or the standby survived kill -9", file: file, line: line)
        try mark(upstream, note)
        // The standby's orphaned backends exit by themselves; the watchdog may need a retry.
        var revived = false
        for _ in 0..<10 where !revived {
            _ = try await container.run(["cron", "watchdog", "--no-wait"])
            if let r = container.receiverPID(), let p = container.standbyPID(), r != receiver, p != postmaster,
               Processes.isAlive(r), Processes.isAlive(p) {
                revived = true
            } else {
                try await Task.sleep(for: .seconds(2))
            }
        }
        XCTAssertTrue(revived, "cron watchdog did not restart pg_receivewal and the standby", file: file, line: line)
        await assertReplays(container, note, file: file, line: line)
    }

    func snapshotNames(_ container: ContainerFixture) async throws -> [String] {
        let listed = try await container.ok(["snapshot", "list", "--json"])
        return try SnapshotStore.decoder.decode([SnapshotMetadata].self, from: Data(listed.stdout.utf8)).map(\.name)
    }

    func entries(_ directory: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
    }

    /// `verify` (offline): exit 1 naming `expected` while a leftover is there, 0 with
    /// "leftovers: none" once it is gone.
    func assertVerify(_ container: ContainerFixture, finds expected: String?, file: StaticString = #filePath, line: UInt = #line) async throws {
        let result = try await container.run(["verify"])
        if let expected {
            XCTAssertEqual(result.exitCode, 1, "verify must report the leftover: \(result)", file: file, line: line)
            XCTAssertTrue(result.stdout.contains(expected), "verify does not say '\(expected)': \(result)", file: file, line: line)
        } else {
            XCTAssertEqual(result.exitCode, 0, "verify found problems: \(result)", file: file, line: line)
            XCTAssertTrue(result.stdout.contains("leftovers: none"), "\(result)", file: file, line: line)
            XCTAssertTrue(result.stdout.contains("tablespaces: 1 in the standby; every pg_tblspc entry"), "\(result)", file: file, line: line)
        }
    }

    // MARK: - the test

    func testKillNineInTheMiddleOfEveryOperationLosesNothing() async throws {
        let upstream = try await UpstreamCluster(name: "upstream")
        upstreams.append(upstream)
        // The markers live in a tablespace (issue 13): every kill below must leave each
        // copy's tablespace inside its own subvolume (verify checks it each time).
        let tablespace = upstream.directory + "/crash_ts"
        try FileManager.default.createDirectory(atPath: tablespace, withIntermediateDirectories: false)
        try upstream.sql("CREATE TABLESPACE crash_ts LOCATION '\(tablespace)'")
        try upstream.sql("CREATE TABLE markers (id serial PRIMARY KEY, note text NOT NULL) TABLESPACE crash_ts")
        try await upstream.pgbenchInit(scale: 2)
        let container = try ContainerFixture(name: "c")
        containers.append(container)
        try await container.initContainer(upstream: upstream)
        try container.skipAmcheckWhereUnavailable()
        let layout = container.layout

        try mark(upstream, "first")
        await assertReplays(container, "first")
        try await container.newCheckpointReplayed(upstream)
        try await container.ok(["snapshot", "create"])
        // (container init takes a snapshot too; counts below are relative)
        let first = try await snapshotNames(container)
        XCTAssertGreaterThanOrEqual(first.count, 1)

        // 0. pg_receivewal killed while preallocating a segment (it writes zeros up to the
        //    segment size first) leaves a short `.partial` of zeros, from which every later
        //    pg_receivewal refuses to resume ("has N bytes, should be 0 or 16777216"), retrying
        //    forever. The crash suite hit this by timing; here it is made on purpose: the
        //    watchdog's restart must set the file aside and the slot stream the segment again.
        try upstream.sql("CREATE TABLE filler AS SELECT 1 AS x") // WAL in a new segment, so a .partial
        let streaming = await eventually(timeout: 60) { self.entries(layout.walArchive).contains { $0.hasSuffix(".partial") } }
        XCTAssertTrue(streaming, "no .partial segment in \(entries(layout.walArchive))")
        let receiver = try XCTUnwrap(container.receiverPID())
        killNine(receiver, "pg_receivewal")
        let partial = try XCTUnwrap(entries(layout.walArchive).first { $0.hasSuffix(".partial") })
        XCTAssertTrue(FileManager.default.createFile(atPath: layout.walArchive + "/" + partial, contents: Data(count: 122_880)))
        try mark(upstream, "after-torn-partial")
        let watchdog = try await container.run(["cron", "watchdog", "--no-wait"])
        XCTAssertEqual(watchdog.exitCode, 0, "\(watchdog)")
        await assertReplays(container, "after-torn-partial")
        let whole = String(partial.dropLast(".partial".count))
        XCTAssertTrue(entries(layout.walArchive).contains(whole), "\(whole) was not streamed again: \(entries(layout.walArchive))")
        let log = (try? String(contentsOfFile: layout.logs + "/cron_watchdog.log", encoding: .utf8)) ?? ""
        XCTAssertTrue(log.contains("removed \(layout.walArchive)/\(partial): 122880 bytes of zeros"), log)

        // 1. snapshot create, killed after the btrfs snapshot and before its metadata; the
        //    receiver and the standby are killed at the same moment.
        try await container.newCheckpointReplayed(upstream)
        var pid = try await paused(container, ["snapshot", "create"], at: "snapshot-create-copied")
        try await killDaemonsAndWatchdog(upstream, container, note: "while-snapshot-create")
        killNine(pid, "snapshot create")
        XCTAssertTrue(entries(layout.snapshots).contains(".creating-\(pid)"), "\(entries(layout.snapshots))")
        let listed1 = try await snapshotNames(container)
        XCTAssertEqual(listed1, first, "a half-made snapshot is listed")
        try await assertVerify(container, finds: "snapshots/.creating-\(pid) is left by an interrupted snapshot create")
        try await container.newCheckpointReplayed(upstream)
        try await container.ok(["snapshot", "create"])
        var names = try await snapshotNames(container)
        XCTAssertEqual(names.count, first.count + 1, "the rerun must make one snapshot: \(names)")
        XCTAssertFalse(entries(layout.snapshots).contains { $0.hasPrefix(".creating-") }, "\(entries(layout.snapshots))")
        try await assertVerify(container, finds: nil)

        // 2. snapshot create, killed after writing the metadata and before renaming the
        //    snapshot into place: the metadata alone must not make it a snapshot.
        try await container.newCheckpointReplayed(upstream)
        pid = try await paused(container, ["snapshot", "create"], at: "snapshot-create-described")
        killNine(pid, "snapshot create")
        let orphan = try XCTUnwrap(entries(layout.snapshots).first { $0.hasSuffix(".json") && !names.contains(String($0.dropLast(5))) },
                                   "the metadata written before the kill is not there: \(entries(layout.snapshots))")
        let listed2 = try await snapshotNames(container)
        XCTAssertEqual(listed2, names, "a snapshot that was never renamed into place is listed")
        try await assertVerify(container, finds: "snapshots/\(orphan) is metadata without its snapshot")
        try await container.ok(["snapshot", "create"])
        let afterRerun = try await snapshotNames(container)
        XCTAssertEqual(afterRerun.count, names.count + 1, "\(afterRerun)")
        XCTAssertEqual(afterRerun.last.map { $0 + ".json" }, orphan, "the rerun takes the same restartpoint")
        XCTAssertTrue(FileManager.default.fileExists(atPath: layout.snapshot(afterRerun.last!)))
        try await assertVerify(container, finds: nil)
        names = afterRerun

        // 3. snapshot delete, killed between hiding the snapshot and deleting it: it is gone
        //    from the list at once, and the next snapshot job finishes the delete.
        let doomed = names[names.count - 2]
        let remaining = names.filter { $0 != doomed }
        pid = try await paused(container, ["snapshot", "delete", doomed], at: "snapshot-delete-marked")
        killNine(pid, "snapshot delete")
        XCTAssertTrue(FileManager.default.fileExists(atPath: layout.snapshot(doomed)), "the kill came after the delete?")
        let listed3 = try await snapshotNames(container)
        XCTAssertEqual(listed3, remaining)
        try await assertVerify(container, finds: "snapshots/.deleting-\(doomed).json marks an interrupted snapshot delete")
        try await container.ok(["snapshot", "expire"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: layout.snapshot(doomed)), "the interrupted delete was not finished")
        XCTAssertEqual(entries(layout.snapshots).filter { $0.hasPrefix(".") }, [])
        let listed4 = try await snapshotNames(container)
        XCTAssertEqual(listed4, remaining)
        try await assertVerify(container, finds: nil)
        names = remaining

        // 4. snapshot expire, killed after deleting the expired snapshot and the first of the
        //    WAL segments only it needed: the kept snapshot's WAL is all there, and a rerun
        //    deletes the rest.
        let newest = try SnapshotStore(layout: layout).read(names.last!)
        let expireDate = ["EXPIRE_DATE": ISO8601.utc(newest.checkpointTime.addingTimeInterval(-0.5))]
        let redoSegment = newest.redoWALFile
        let segmentsBefore = try WALArchive(directory: layout.walArchive).entries().filter { !$0.name.isHistory }
        let olderBefore = segmentsBefore.filter { $0.name.fileName.prefix(24) < redoSegment.prefix(24) }
        XCTAssertGreaterThanOrEqual(olderBefore.count, 2, "the test needs at least two segments for expiry to delete")
        pid = try await paused(container, ["snapshot", "expire"], at: "expire-deleting-wal", environment: expireDate)
        killNine(pid, "snapshot expire")
        let listed5 = try await snapshotNames(container)
        XCTAssertEqual(listed5, [newest.name], "the expired snapshots are still listed")
        let olderMid = try WALArchive(directory: layout.walArchive).entries().filter { !$0.name.isHistory && $0.name.fileName.prefix(24) < redoSegment.prefix(24) }
        XCTAssertEqual(olderMid.count, olderBefore.count - 1, "the kill was meant to land after exactly one WAL segment")
        try await assertVerify(container, finds: nil) // what the kept snapshot needs is whole
        let rerun = try await container.run(["snapshot", "expire"], environment: expireDate)
        XCTAssertEqual(rerun.exitCode, 0, "\(rerun)")
        let olderAfter = try WALArchive(directory: layout.walArchive).entries().filter { !$0.name.isHistory && $0.name.fileName.prefix(24) < redoSegment.prefix(24) }
        XCTAssertEqual(olderAfter.map(\.name.fileName), [], "the rerun did not delete the WAL only the expired snapshot needed")
        XCTAssertTrue(try WALArchive(directory: layout.walArchive).entries().contains { $0.name.fileName.hasPrefix(redoSegment) },
                      "the kept snapshot's REDO segment \(redoSegment) is gone")

        // 5. clone create, killed after the writable snapshot and after preparing it, with the
        //    standby killed too: the clone never appears half-made under its name.
        for point in ["clone-create-copied", "clone-create-described"] {
            pid = try await paused(container, ["clone", "create", "restored", "--latest"], at: point)
            if point == "clone-create-copied" {
                try await killDaemonsAndWatchdog(upstream, container, note: "while-clone-create")
            }
            killNine(pid, "clone create")
            XCTAssertFalse(FileManager.default.fileExists(atPath: layout.clone("restored")), "\(point): a half-made clone has the clone's name")
            XCTAssertTrue(entries(layout.clones).contains(".creating-\(pid)-restored"), "\(point): \(entries(layout.clones))")
            let listed = try await container.ok(["clone", "list"])
            XCTAssertFalse(listed.stdout.contains("restored"), "\(point): \(listed.stdout)")
            try await assertVerify(container, finds: "clones/.creating-\(pid)-restored is left by an interrupted clone create")
        }
        try mark(upstream, "before-clone")
        try await container.ok(["clone", "create", "restored", "--latest"])
        XCTAssertEqual(entries(layout.clones), ["restored"], "the rerun must remove the leftovers")
        try await container.ok(["clone", "start", "restored"])
        XCTAssertEqual(Tablespaces.entries(dataDirectory: layout.clone("restored")).map(\.inside), [true], "the clone's tablespace")
        let clone = try await container.ok(["clone", "list", "--json"])
        XCTAssertTrue(clone.stdout.contains("\"restored\""), clone.stdout)
        try await container.ok(["clone", "delete", "--force", "restored"])
        try await assertVerify(container, finds: nil)

        // 6. cron compress-wal, killed while writing a compressed copy and between its rename
        //    and the unlink of the original; pg_receivewal and the standby die with the first.
        try await upstream.pgbench(seconds: 3)
        for note in ["compress-1", "compress-2", "compress-3"] { try mark(upstream, note) }
        for point in ["compress-wal-writing", "compress-wal-renamed"] {
            pid = try await paused(container, ["cron", "compress-wal"], at: point)
            if point == "compress-wal-writing" {
                try await killDaemonsAndWatchdog(upstream, container, note: "while-compress-wal")
            }
            killNine(pid, "cron compress-wal")
            let files = entries(layout.walArchive)
            if point == "compress-wal-writing" {
                XCTAssertTrue(files.contains { $0.contains(".tmp.\(pid)") }, "no temporary file of the killed run: \(files)")
            } else {
                XCTAssertTrue(files.contains { name in name.hasSuffix(".zst") && files.contains(String(name.dropLast(4))) },
                              "no segment both plain and compressed after a kill between rename and unlink: \(files)")
            }
        }
        let compressed = try await container.run(["cron", "compress-wal"])
        XCTAssertEqual(compressed.exitCode, 0, "\(compressed)")
        let files = entries(layout.walArchive)
        XCTAssertFalse(files.contains { $0.contains(".tmp.") }, "temporary files remain: \(files)")
        let archive = WALArchive(directory: layout.walArchive)
        let complete = try archive.entries().filter { !$0.name.isPartial && !$0.name.isHistory }
        XCTAssertTrue(complete.allSatisfy { $0.name.compression != nil }, "segments left uncompressed: \(complete.filter { $0.name.compression == nil }.map(\.name.fileName))")
        XCTAssertFalse(files.contains { name in name.hasSuffix(".zst") && files.contains(String(name.dropLast(4))) }, "a segment is both plain and compressed: \(files)")
        XCTAssertEqual(try archive.missingSegments().map(\.fileName), [], "the archive has a gap")

        // Finally: nothing half-made, and a restore test plus a --latest clone hold every marker.
        try mark(upstream, "last")
        await assertReplays(container, "last")
        try await container.newCheckpointReplayed(upstream)
        try await container.ok(["snapshot", "create"])
        try await assertVerify(container, finds: nil)
        let restore = try await container.run(["verify", "--restore"])
        XCTAssertEqual(restore.exitCode, 0, "verify --restore: \(restore)")
        try await container.ok(["clone", "create", "final", "--latest"])
        try await container.ok(["clone", "start", "final"])
        let port = try CloneStore(layout: layout).get("final").port
        let connection = try Connection(conninfo: "host=\(layout.run) port=\(port) dbname=postgres user=\(try container.config().standbyUser)", connectTimeout: 10)
        defer { connection.close() }
        let present = try connection.query("SELECT note FROM markers ORDER BY id").rows.compactMap { $0[0] }
        XCTAssertEqual(present, markers, "markers lost or added across the crashes")
        XCTAssertEqual(try connection.query("SELECT count(*) FROM pgbench_accounts").rows.first?[0], "200000")
        try await container.ok(["clone", "delete", "--force", "final"])
    }
}
