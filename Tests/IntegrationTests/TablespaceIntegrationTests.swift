import Foundation
import PGArchiveCore
import PGArchiveTestSupport
import Postgres
import XCTest

/// Tablespaces end to end (issue 13): every copy of the data (standby, snapshot, clone)
/// holds its own tablespaces inside its own subvolume. The upstreams run on this host with
/// their tablespace directories in their own temp directory, which is exactly the case where
/// an unmapped base backup or an unguarded CREATE TABLESPACE replay would share files.
final class TablespaceIntegrationTests: XCTestCase {
    var upstreams: [UpstreamCluster] = []
    var containers: [ContainerFixture] = []
    /// Data directories written by `restore --to` (removed with their parent).
    var restoredDirectories: [String] = []

    static var pgCtl: String { UpstreamCluster.bindir + "/pg_ctl" }

    override func tearDown() async throws {
        for container in containers.reversed() {
            await container.stopClones()
            await container.destroy()
        }
        for upstream in upstreams.reversed() { await upstream.destroy() }
        for dir in restoredDirectories {
            if FileManager.default.fileExists(atPath: dir + "/postmaster.pid") {
                _ = try? await ToolCommand(executable: Self.pgCtl, arguments: ["-D", dir, "-m", "immediate", "-w", "-t", "60", "stop"]).run()
            }
            try? FileManager.default.removeItem(atPath: (dir as NSString).deletingLastPathComponent)
        }
        restoredDirectories = []
        containers = []
        upstreams = []
    }

    func makeUpstream() async throws -> UpstreamCluster {
        let upstream = try await UpstreamCluster(name: "ts")
        upstreams.append(upstream)
        return upstream
    }

    func makeContainer() throws -> ContainerFixture {
        let container = try ContainerFixture()
        containers.append(container)
        return container
    }

    /// A new directory for a tablespace inside the upstream's own temp directory.
    func tablespaceDirectory(_ upstream: UpstreamCluster, _ name: String) throws -> String {
        let path = upstream.directory + "/" + name
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        return path
    }

    func connection(_ container: ContainerFixture, clone name: String, database: String = "postgres") throws -> Connection {
        let data = try Data(contentsOf: URL(fileURLWithPath: container.layout.clone(name) + "/pgarchive.clone.json"))
        let metadata = try SnapshotStore.decoder.decode(CloneMetadata.self, from: data)
        return try Connection(conninfo: "host=\(container.layout.run) port=\(metadata.port) dbname=\(database) user=\(try container.config().standbyUser)", connectTimeout: 5)
    }

    func ids(_ connection: Connection, _ table: String) throws -> [Int] {
        try connection.query("SELECT id FROM \(table) ORDER BY id").rows.map { Int($0[0]!)! }
    }

    func cloneLog(_ container: ContainerFixture, _ name: String) -> String {
        let text = (try? String(contentsOfFile: container.layout.logs + "/clone_\(name).log", encoding: .utf8)) ?? "(no log)"
        return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(25).joined(separator: "\n")
    }

    /// Files (relative paths) below `path`.
    func files(_ path: String) -> Set<String> {
        Set((FileManager.default.enumerator(atPath: path)?.allObjects as? [String]) ?? [])
    }

    /// Waits until the standby has replayed everything the upstream wrote so far.
    func replayed(_ container: ContainerFixture, _ upstream: UpstreamCluster, file: StaticString = #filePath, line: UInt = #line) async throws {
        let lsn = try XCTUnwrap(upstream.scalar("SELECT pg_switch_wal()"), file: file, line: line)
        let done = await eventually(timeout: 90, interval: 0.2) {
            container.standbyScalar("SELECT pg_last_wal_replay_lsn() >= '\(lsn)'::pg_lsn") == "t"
        }
        XCTAssertTrue(done, "the standby did not replay past \(lsn)", file: file, line: line)
    }

    /// Every pg_tblspc entry of `dataDirectory` is a relative link that resolves inside it.
    func assertTablespacesInside(_ dataDirectory: String, count: Int, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        let entries = Tablespaces.entries(dataDirectory: dataDirectory)
        XCTAssertEqual(entries.count, count, "\(what): pg_tblspc entries \(entries)", file: file, line: line)
        for entry in entries {
            XCTAssertTrue(entry.inside, "\(what): pg_tblspc/\(entry.oid) resolves to \(entry.resolved)", file: file, line: line)
            XCTAssertEqual(entry.link, "../pgarchive_tablespaces/\(entry.oid)", "\(what): pg_tblspc/\(entry.oid)", file: file, line: line)
        }
    }

    // MARK: - init maps tablespaces inside; clones are isolated and exact; verify and snapshot guard

    func testInitMapsTablespacesAndClonesAreIsolatedAndExact() async throws {
        let upstream = try await makeUpstream()
        let location = try tablespaceDirectory(upstream, "ts_one")
        try upstream.sql("CREATE TABLESPACE ts_one LOCATION '\(location)'")
        try upstream.sql("CREATE TABLE tsm (id int PRIMARY KEY, note text) TABLESPACE ts_one")
        try upstream.sql("INSERT INTO tsm VALUES (1, 'before init')")
        let oid = try XCTUnwrap(upstream.scalar("SELECT oid FROM pg_tablespace WHERE spcname = 'ts_one'"))
        let upstreamFiles = files(location)
        let container = try makeContainer()
        try await container.initContainer(upstream: upstream)

        // init: the tablespace is inside standby/, behind a relative link, and recorded.
        let standby = container.layout.standby
        assertTablespacesInside(standby, count: 1, "the standby")
        XCTAssertTrue(files(standby + "/pgarchive_tablespaces/\(oid)").contains { $0.hasPrefix("PG_15_") }, "no tablespace copy in the standby")
        XCTAssertEqual(Tablespaces.readMap(dataDirectory: standby), [TablespaceRecord(oid: UInt32(oid)!, name: "ts_one", upstreamLocation: location)])
        XCTAssertEqual(container.standbyScalar("SELECT note FROM tsm WHERE id = 1"), "before init")
        // status (text and JSON), check and metrics show it, with its size, inside the container.
        let status = try await container.ok(["container", "status"]).stdout
        XCTAssertTrue(status.contains("tablespace:       ts_one (oid \(oid)), ") && status.contains(", inside standby/"), status)
        let json = try await container.ok(["container", "status", "--json"]).stdout
        let decoded = try SnapshotStore.decoder.decode(ContainerStatus.self, from: Data(json.utf8))
        XCTAssertEqual(decoded.tablespaces?.map(\.name), ["ts_one"], json)
        XCTAssertEqual(decoded.tablespaces?.first?.insideContainer, true, json)
        XCTAssertGreaterThan(decoded.tablespaces?.first?.sizeBytes ?? 0, 0, json)
        let check = try await container.run(["check"])
        XCTAssertTrue(check.stdout.contains("1 inside standby/: ts_one"), check.stdout)
        let metrics = try await container.ok(["metrics"]).stdout
        XCTAssertTrue(metrics.contains(#"tablespace="ts_one",oid="\#(oid)"} 1"#) && metrics.contains("pgarchive_tablespace_bytes{"), metrics)
        let snapshot = try XCTUnwrap(try SnapshotStore(layout: container.layout).list().last)
        assertTablespacesInside(container.layout.snapshot(snapshot.name), count: 1, "snapshot \(snapshot.name)")

        // Under pgbench load: CREATE DATABASE … TABLESPACE and ALTER TABLE … SET TABLESPACE,
        // with markers before and after an LSN target.
        try await upstream.pgbenchInit(scale: 1)
        let load = Task { try await upstream.pgbench(seconds: 8, clients: 2) }
        try upstream.sql("CREATE DATABASE tsdb TABLESPACE ts_one")
        try upstream.sql("CREATE TABLE dbm (id int PRIMARY KEY)", database: "tsdb")
        try upstream.sql("INSERT INTO dbm VALUES (1)", database: "tsdb")
        try upstream.sql("ALTER TABLE pgbench_branches SET TABLESPACE ts_one")
        try upstream.sql("INSERT INTO tsm VALUES (2, 'before target')")
        let target = try XCTUnwrap(upstream.scalar("SELECT pg_current_wal_insert_lsn()"))
        try upstream.sql("INSERT INTO tsm VALUES (3, 'after target')")
        try upstream.sql("INSERT INTO dbm VALUES (2)", database: "tsdb")
        try upstream.sql("ALTER TABLE pgbench_tellers SET TABLESPACE ts_one")
        try await load.value
        try await replayed(container, upstream)

        try await container.ok(["clone", "create", "pitr", "--lsn", target, "--start"])
        try await container.ok(["clone", "create", "latest", "--latest", "--start"])
        for name in ["pitr", "latest"] { assertTablespacesInside(container.layout.clone(name), count: 1, "clone \(name)") }
        let pitr = try connection(container, clone: "pitr")
        defer { pitr.close() }
        let latest = try connection(container, clone: "latest")
        defer { latest.close() }
        XCTAssertEqual(try ids(pitr, "tsm"), [1, 2], "point-in-time clone: tablespace rows\n\(cloneLog(container, "pitr"))")
        XCTAssertEqual(try ids(latest, "tsm"), [1, 2, 3], "latest clone: tablespace rows")
        let pitrDB = try connection(container, clone: "pitr", database: "tsdb")
        XCTAssertEqual(try ids(pitrDB, "dbm"), [1], "point-in-time clone: rows of the database in the tablespace")
        pitrDB.close()
        func tablespaceOf(_ c: Connection, _ table: String) throws -> String? {
            try c.query("SELECT coalesce(t.spcname, 'default') FROM pg_class c LEFT JOIN pg_tablespace t ON t.oid = c.reltablespace WHERE c.relname = $1", [table]).rows.first?[0]
        }
        XCTAssertEqual(try tablespaceOf(pitr, "pgbench_branches"), "ts_one")
        XCTAssertEqual(try tablespaceOf(pitr, "pgbench_tellers"), "default", "the ALTER after the target is not in the point-in-time clone")
        XCTAssertEqual(try tablespaceOf(latest, "pgbench_tellers"), "ts_one")
        XCTAssertEqual(try pitr.query("SELECT count(*) FROM pgbench_branches").rows.first?[0], "1")

        // A write in one clone's tablespace reaches no other copy.
        _ = try pitr.execute("INSERT INTO tsm VALUES (100, 'clone only')")
        _ = try pitr.execute("CHECKPOINT")
        XCTAssertEqual(try ids(latest, "tsm"), [1, 2, 3], "the second clone sees the first clone's write")
        XCTAssertEqual(container.standbyScalar("SELECT count(*) FROM tsm WHERE id = 100"), "0", "the standby sees the clone's write")
        XCTAssertEqual(try upstream.scalar("SELECT count(*) FROM tsm WHERE id = 100"), "0", "the upstream sees the clone's write")
        XCTAssertFalse(files(location).contains { $0.hasPrefix("PG_15_") && !upstreamFiles.contains($0) && $0.split(separator: "/").count == 1 },
                       "a new version directory appeared in the upstream's tablespace directory")

        // verify passes; an entry resolving outside fails verify and snapshot create loudly.
        let verified = try await container.run(["verify"])
        XCTAssertEqual(verified.exitCode, 0, "\(verified)")
        XCTAssertTrue(verified.stdout.contains("tablespaces: 1 in the standby"), verified.stdout)
        let outside = try TemporaryDirectory.make(prefix: "ts-outside")
        defer { try? FileManager.default.removeItem(atPath: outside) }
        let bogus = container.layout.clone("latest") + "/pg_tblspc/99999"
        XCTAssertEqual(symlink(outside, bogus), 0)
        let failed = try await container.run(["verify"])
        XCTAssertEqual(failed.exitCode, 1, "\(failed)")
        XCTAssertTrue(failed.stdout.contains("tablespace 99999 of clone latest") && failed.stdout.contains("resolves to \(outside), outside"), failed.stdout)
        unlink(bogus)
        let standbyBogus = standby + "/pg_tblspc/99999"
        XCTAssertEqual(symlink(outside, standbyBogus), 0)
        let before = try SnapshotStore(layout: container.layout).list().map(\.name)
        try upstream.sql("CHECKPOINT")
        try await replayed(container, upstream)
        let refused = try await container.run(["snapshot", "create", "--force"])
        unlink(standbyBogus)
        XCTAssertNotEqual(refused.exitCode, 0, "\(refused)")
        XCTAssertTrue(refused.stderr.contains("no snapshot taken: tablespace 99999 of the standby") && refused.stderr.contains("container resync"), refused.stderr)
        XCTAssertEqual(try SnapshotStore(layout: container.layout).list().map(\.name), before, "a snapshot was taken")

        // A new snapshot with the database in the tablespace: dump create dumps it, globals.sql
        // keeps the tablespace with the upstream's location.
        try await container.newCheckpointReplayed(upstream)
        try await container.ok(["snapshot", "create"])
        try await container.ok(["dump", "create", "tsdb", "postgres"])
        let globals = try await container.ok(["dump", "extract", "tsdb", "--globals"]).stdout
        XCTAssertTrue(globals.contains("CREATE TABLESPACE ts_one OWNER postgres LOCATION '\(location)';"), globals)
        let dump = try await container.ok(["dump", "extract", "tsdb"]).stdout
        XCTAssertTrue(dump.contains("COPY public.dbm (id) FROM stdin;\n1\n2\n\\."), dump)
        let postgresDump = try await container.ok(["dump", "extract", "postgres"]).stdout
        XCTAssertTrue(postgresDump.contains("SET default_tablespace = ts_one;") && postgresDump.contains("COPY public.tsm"), "postgres dump")

        // verify --restore: its temporary clone recovers with its own tablespace copy.
        let restoreVerified = try await container.run(["verify", "--restore"])
        XCTAssertEqual(restoreVerified.exitCode, 0, "\(restoreVerified)")
        XCTAssertTrue(restoreVerified.stdout.contains("tablespaces: 1 in the standby") && restoreVerified.stdout.contains("pg_amcheck found no corruption"), restoreVerified.stdout)

        // restore --to: bad maps change nothing; a good one puts the tablespace where asked.
        let restoreRoot = try TemporaryDirectory.make(prefix: "ts-restore")
        restoredDirectories.append(restoreRoot + "/data")
        let restoreDir = restoreRoot + "/data", tsTarget = restoreRoot + "/fast"
        for (map, message) in [("nope=\(tsTarget)", "has no tablespace 'nope'; it has: ts_one"),
                               ("ts_one=relative/dir", "the directory must be an absolute path"),
                               ("ts_one", "use NAME=DIR"),
                               ("ts_one=\(restoreRoot)/missing/dir", "parent directory \(restoreRoot)/missing of tablespace directory")] {
            let bad = try await container.run(["restore", "--to", restoreDir, "--latest", "--tablespace-map", map])
            XCTAssertEqual(bad.exitCode, 1, "\(map): \(bad)")
            XCTAssertTrue(bad.stderr.contains(message), "\(map): \(bad.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: restoreDir), "\(map): \(restoreDir) was written")
        }
        let port = try FreePort.find()
        let restored = try await container.ok(["restore", "--to", restoreDir, "--latest", "--tablespace-map", "ts_one=\(tsTarget)",
                                               "--port", String(port), "--socket-directory", restoreRoot])
        XCTAssertTrue(restored.stdout.contains("start it with"), restored.stdout)
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: restoreDir + "/pg_tblspc/\(oid)"), tsTarget)
        XCTAssertFalse(FileManager.default.fileExists(atPath: restoreDir + "/pgarchive_tablespaces/\(oid)"))
        try await ToolCommand(executable: Self.pgCtl, arguments: ["-D", restoreDir, "-l", restoreRoot + "/log", "-w", "-t", "120", "start"]).runChecked()
        let promoted = await eventually(timeout: 120) {
            (try? Connection(conninfo: "host=\(restoreRoot) port=\(port) dbname=postgres user=postgres").query("SELECT NOT pg_is_in_recovery()").rows.first?[0]) == "t"
        }
        XCTAssertTrue(promoted, (try? String(contentsOfFile: restoreRoot + "/log", encoding: .utf8)) ?? "")
        let restoredDB = try Connection(conninfo: "host=\(restoreRoot) port=\(port) dbname=postgres user=postgres")
        XCTAssertEqual(try ids(restoredDB, "tsm"), [1, 2, 3])
        XCTAssertEqual(try restoredDB.query("SELECT pg_tablespace_location(oid) FROM pg_tablespace WHERE spcname = 'ts_one'").rows.first?[0], tsTarget)
        restoredDB.close()
        XCTAssertTrue(files(tsTarget).contains { $0.hasPrefix("PG_15_") }, "nothing in \(tsTarget)")

        // DROP TABLESPACE upstream: the standby removes its own copy, nothing else.
        try upstream.sql("DROP DATABASE tsdb")
        for statement in ["DROP TABLE tsm", "ALTER TABLE pgbench_branches SET TABLESPACE pg_default",
                          "ALTER TABLE pgbench_tellers SET TABLESPACE pg_default", "DROP TABLESPACE ts_one"] {
            try upstream.sql(statement)
        }
        try await replayed(container, upstream)
        XCTAssertEqual(Tablespaces.entries(dataDirectory: standby).count, 0, "the standby still has a pg_tblspc entry")
        XCTAssertEqual(try ids(latest, "tsm"), [1, 2, 3], "the DROP upstream reached a clone")
    }

    // MARK: - CREATE TABLESPACE upstream after init: refused loudly, resync adopts it

    func testCreateTablespaceAfterInitIsRefusedLoudlyUntilResync() async throws {
        let upstream = try await makeUpstream()
        try upstream.sql("CREATE TABLE m (id int PRIMARY KEY)")
        let container = try makeContainer()
        try await container.initContainer(upstream: upstream)
        try upstream.sql("INSERT INTO m VALUES (1)")
        try await replayed(container, upstream)
        let before = try XCTUnwrap(upstream.scalar("SELECT pg_current_wal_insert_lsn()"))
        let location = try tablespaceDirectory(upstream, "late")
        try upstream.sql("CREATE TABLESPACE late LOCATION '\(location)'")
        try upstream.sql("CREATE TABLE lt (id int) TABLESPACE late")
        try upstream.sql("INSERT INTO lt VALUES (1)")
        try upstream.sql("INSERT INTO m VALUES (2)")
        let after = try XCTUnwrap(upstream.scalar("SELECT pg_current_wal_insert_lsn()"))
        let upstreamFiles = files(location)
        _ = try upstream.scalar("SELECT pg_switch_wal()")

        // The standby stops before the record, stays up, and says what to do.
        let critical = await eventually(timeout: 90, interval: 0.5) {
            let check = try? await container.run(["check"])
            return check?.exitCode == 2 && check?.stdout.contains("tablespaces") == true
        }
        let check = try await container.run(["check"])
        XCTAssertTrue(critical, "check did not turn CRITICAL: \(check)")
        XCTAssertTrue(check.stdout.contains("CRITICAL") && check.stdout.contains("created tablespace") && check.stdout.contains(location)
                      && check.stdout.contains("pgarchive container resync"), check.stdout)
        let status = try await container.run(["container", "status", "--json"])
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])
        XCTAssertTrue((json["tablespaceRefusal"] as? String)?.contains(location) == true, status.stdout)
        XCTAssertEqual(container.standbyScalar("SELECT count(*) FROM m"), "1", "the standby replayed past the CREATE TABLESPACE")
        XCTAssertEqual(Tablespaces.entries(dataDirectory: container.layout.standby).count, 0)
        XCTAssertEqual(files(location), upstreamFiles, "the standby wrote into the upstream's tablespace directory")

        // A clone before the CREATE (in the same segment) is exact; one past it fails loudly,
        // never silently short.
        try await container.ok(["clone", "create", "early", "--lsn", before, "--start"])
        let early = try connection(container, clone: "early")
        XCTAssertEqual(try ids(early, "m"), [1])
        early.close()
        let late = try await container.run(["clone", "create", "past", "--latest", "--start"])
        XCTAssertNotEqual(late.exitCode, 0, "a clone past the CREATE TABLESPACE was promoted: \(late)")
        XCTAssertTrue(cloneLog(container, "past").contains("CREATE TABLESPACE") || late.stderr.contains("CREATE TABLESPACE"),
                      "\(late)\n\(cloneLog(container, "past"))")
        XCTAssertEqual(files(location), upstreamFiles, "the clone wrote into the upstream's tablespace directory")
        _ = try? await container.run(["clone", "delete", "--force", "past"])
        let beyond = try await container.run(["clone", "create", "beyond", "--lsn", after, "--start"])
        XCTAssertNotEqual(beyond.exitCode, 0, "a clone with a target past the CREATE TABLESPACE was promoted: \(beyond)")
        XCTAssertTrue(cloneLog(container, "beyond").contains("CREATE TABLESPACE"), "\(beyond)\n\(cloneLog(container, "beyond"))")
        XCTAssertEqual(files(location), upstreamFiles, "the clone wrote into the upstream's tablespace directory")
        _ = try? await container.run(["clone", "delete", "--force", "beyond"])
        // restore --to replays with cp, not wal fetch: --latest across the CREATE is refused and
        // writes nothing; a target before it restores with the WAL cut just before the record.
        let latestDir = container.scratch + "/restored-latest"
        let restoreLatest = try await container.run(["restore", "--to", latestDir, "--latest"])
        XCTAssertNotEqual(restoreLatest.exitCode, 0, "\(restoreLatest)")
        XCTAssertTrue(restoreLatest.stderr.contains("holds CREATE TABLESPACE") && restoreLatest.stderr.contains(location)
                      && restoreLatest.stderr.contains("pgarchive container resync"), "\(restoreLatest)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: latestDir), "a refused restore --to left \(latestDir)")
        let earlyDir = container.scratch + "/restored-early"
        let restoreEarly = try await container.run(["restore", "--to", earlyDir, "--lsn", before])
        XCTAssertEqual(restoreEarly.exitCode, 0, "\(restoreEarly)")
        XCTAssertTrue(restoreEarly.stderr.contains("the copied WAL ends just before it"), "\(restoreEarly)")
        XCTAssertEqual(files(location), upstreamFiles)

        // resync takes the tablespace inside standby/; the standby runs on, check is fine.
        try await container.ok(["container", "resync"])
        assertTablespacesInside(container.layout.standby, count: 1, "the resynced standby")
        try upstream.sql("INSERT INTO lt VALUES (2)")
        try upstream.sql("INSERT INTO m VALUES (3)")
        try await replayed(container, upstream)
        XCTAssertEqual(container.standbyScalar("SELECT count(*) FROM lt"), "2")
        let healed = try await container.run(["check"])
        XCTAssertFalse(healed.stdout.contains("created tablespace"), healed.stdout)
        XCTAssertTrue(healed.stdout.contains("tablespaces") && healed.stdout.contains("late"), healed.stdout)
        XCTAssertEqual(files(location).filter { !upstreamFiles.contains($0) }.filter { !$0.hasPrefix("PG_15_") }, [],
                       "files appeared in the upstream's tablespace directory outside its version directory")
    }
}
