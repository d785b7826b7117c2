import Foundation
import PGArchiveCore
import PGArchiveTestSupport
import Postgres
import XCTest

/// What a new user tries first, on a quiet upstream (no archive_timeout, nothing written after
/// the marker): `snapshot create --checkpoint-upstream`, then at once `dump create`,
/// `clone create --immediate` and `verify --restore`; and after `container resync`, a
/// `--latest` clone. Real upstream, real container on btrfs, the built binary.
final class DumpFreshnessIntegrationTests: XCTestCase {
    var upstreams: [UpstreamCluster] = []
    var containers: [ContainerFixture] = []


    override func tearDown() async throws {
        for container in containers.reversed() {
            await container.stopClones()
            await container.destroy()
        }
        for upstream in upstreams.reversed() { await upstream.destroy() }
        containers = []
        upstreams = []
    }

    func clonesLeft(_ container: ContainerFixture) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: container.layout.clones)) ?? []).sorted()
    }

    struct ListEntry: Decodable {
        var run: DumpRun
        var path: String
    }

    func runs(_ container: ContainerFixture, _ database: String) async throws -> [DumpRun] {
        let result = try await container.ok(["dump", "list", "--json", database])
        return try SnapshotStore.decoder.decode([ListEntry].self, from: Data(result.stdout.utf8)).map(\.run)
    }

    /// A new database with a marker row; returns the marker transaction's start time (its
    /// commit is later).
    func markerDatabase(_ upstream: UpstreamCluster, _ name: String, note: String) throws -> Date {
        try upstream.sql("CREATE DATABASE \(name)")
        try upstream.sql("CREATE TABLE marker (note text, at timestamptz DEFAULT now())", database: name)
        try upstream.sql("INSERT INTO marker (note) VALUES ('\(note)')", database: name)
        let epoch = try XCTUnwrap(upstream.scalar("SELECT extract(epoch FROM at)::text FROM marker", database: name))
        return Date(timeIntervalSince1970: try XCTUnwrap(Double(epoch)))
    }

    /// Waits until pg_receivewal has everything the upstream wrote (in the `.partial` segment).
    func waitUntilReceived(_ upstream: UpstreamCluster) async {
        let received = await eventually(timeout: 60, interval: 0.1) {
            (try? upstream.scalar("SELECT bool_and(write_lsn >= pg_current_wal_lsn()) FROM pg_stat_replication")) == "t"
        }
        XCTAssertTrue(received, "pg_receivewal did not receive the newest WAL")
    }

    func cloneScalar(_ container: ContainerFixture, _ clone: String, _ query: String, database: String = "postgres") throws -> String? {
        let port = try CloneStore(layout: container.layout).get(clone).port
        let connection = try Connection(conninfo: "host=\(container.layout.run) port=\(port) dbname=\(database) user=\(try container.config().standbyUser)", connectTimeout: 10)
        defer { connection.close() }
        return try connection.query(query).rows.first?[0]
    }

    func testDumpImmediateCloneAndVerifyRightAfterCheckpointUpstreamOnAQuietUpstream() async throws {
        let upstream = try await UpstreamCluster(name: "quiet")
        upstreams.append(upstream)
        let container = try ContainerFixture(name: "c")
        containers.append(container)
        try await container.initContainer(upstream: upstream)
        // Clones on their socket only: no TCP port to race other tests for.
        try container.setConfig("clone_listen_addresses", "''")

        // PostgreSQL's background writer logs a running-transactions record some 0–15 s after
        // the WAL switch; until then the archive's WAL ends exactly at the new snapshot's
        // consistent point, the situation below. So each step runs at once after its own
        // snapshot.
        let markerAt = try markerDatabase(upstream, "fresh", note: "before-snapshot")

        // --immediate right after the snapshot: consistent exactly where the archive's WAL ends.
        try await container.ok(["snapshot", "create", "--checkpoint-upstream"])
        let immediate = try await container.run(["clone", "create", "imm", "--immediate", "--start"])
        XCTAssertEqual(immediate.exitCode, 0, "clone create --immediate right after snapshot create --checkpoint-upstream: \(immediate)")
        if immediate.exitCode == 0 {
            XCTAssertEqual(try cloneScalar(container, "imm", "SELECT string_agg(note, ',') FROM marker", database: "fresh"), "before-snapshot")
            XCTAssertEqual(try cloneScalar(container, "imm", "SELECT pg_is_in_recovery()"), "f")
            if immediate.stderr.contains("where PostgreSQL cannot stop an immediate recovery") {
                print("--immediate met the end of the WAL at the consistent point and recovered to the end")
            }
        }
        try await container.run(["clone", "delete", "--force", "imm"])

        // The new user's sequence: a database, a snapshot that holds it, at once a dump.
        try await container.ok(["snapshot", "create", "--checkpoint-upstream"])
        let dump = try await container.run(["dump", "create"])
        XCTAssertEqual(dump.exitCode, 0, "dump create right after snapshot create --checkpoint-upstream: \(dump)")
        XCTAssertEqual(clonesLeft(container), [], "the temporary clone is gone")
        if dump.exitCode == 0 {
            let fresh = try await runs(container, "fresh")
            XCTAssertEqual(fresh.count, 1)
            let script = try await container.ok(["dump", "extract", "fresh"])
            XCTAssertTrue(script.stdout.contains("before-snapshot"), String(script.stdout.prefix(3000)))
            let asOf = try XCTUnwrap(fresh.first?.dataAsOf)
            XCTAssertGreaterThan(asOf, markerAt, "the data is as of the marker's commit or later")
            XCTAssertLessThan(asOf, Date(), "data as of the future")
        }

        let verify = try await container.run(["verify", "--restore"])
        XCTAssertEqual(verify.exitCode, 0, "verify --restore right after the snapshot: \(verify)")
        XCTAssertEqual(clonesLeft(container), [])

        // A database created after the newest snapshot (only in the .partial segment) is in
        // the next dump: dumps hold the newest data the archive has.
        let laterAt = try markerDatabase(upstream, "later", note: "after-snapshot")
        await waitUntilReceived(upstream)
        try await container.ok(["dump", "create", "later", "fresh"])
        let later = try await runs(container, "later")
        XCTAssertEqual(later.count, 1)
        let laterRun = try XCTUnwrap(later.first?.name)
        let laterScript = try await container.ok(["dump", "extract", "later"])
        XCTAssertTrue(laterScript.stdout.contains("after-snapshot"), String(laterScript.stdout.prefix(3000)))
        let laterAsOf = try XCTUnwrap(later.first?.dataAsOf)
        XCTAssertGreaterThan(laterAsOf, laterAt)
        let freshAgain = try await runs(container, "fresh")
        XCTAssertEqual(freshAgain.last?.dataAsOf, laterAsOf, "one run, one moment")
        // dump list and status show it.
        let table = try await container.ok(["dump", "list", "later"])
        XCTAssertTrue(table.stdout.contains("DATA AS OF"), table.stdout)
        XCTAssertTrue(table.stdout.contains(ISO8601.utc(laterAsOf)), table.stdout)
        let status = try await container.run(["container", "status", "--json"])
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any], status.stdout)
        XCTAssertEqual(json["newestDumpRun"] as? String, laterRun)
        let statusAsOf = try TargetTimeParser.parse(try XCTUnwrap(json["newestDumpDataAsOf"] as? String, status.stdout),
                                                    localTimeZone: TimeZone(identifier: "UTC")!)
        XCTAssertEqual(statusAsOf.timeIntervalSince1970, laterAsOf.timeIntervalSince1970, accuracy: 0.001)
        let text = try await container.run(["container", "status"])
        XCTAssertTrue(text.stdout.contains("dumps:            newest run \(laterRun), data as of \(ISO8601.utc(laterAsOf))"), text.stdout)

        // A forced failure (clones cannot bind their address): the error says what failed and
        // that the temporary clone is gone, and it is.
        try container.setConfig("clone_listen_addresses", "'192.0.2.1'")
        let failed = try await container.run(["dump", "create", "fresh"])
        XCTAssertNotEqual(failed.exitCode, 0)
        XCTAssertTrue(failed.stderr.contains("did not start"), failed.stderr)
        XCTAssertTrue(failed.stderr.contains("The temporary clone dump-"), failed.stderr)
        XCTAssertTrue(failed.stderr.contains("was stopped and deleted"), failed.stderr)
        XCTAssertFalse(failed.stderr.contains("delete it with"), "claims the deleted clone still needs deleting: \(failed.stderr)")
        XCTAssertEqual(clonesLeft(container), [])
        let freshAfterFailure = try await runs(container, "fresh")
        XCTAssertEqual(freshAfterFailure.count, 2, "no run from the failed dump")
        XCTAssertFalse(((try? FileManager.default.contentsOfDirectory(atPath: container.layout.dumps + "/fresh")) ?? []).contains { $0.hasPrefix(".") })
        let failedVerify = try await container.run(["verify", "--restore"])
        XCTAssertNotEqual(failedVerify.exitCode, 0)
        let said = failedVerify.stdout + failedVerify.stderr
        XCTAssertTrue(said.contains("did not restore"), said)
        XCTAssertTrue(said.contains("was stopped and deleted"), said)
        XCTAssertFalse(said.contains("delete it with"), said)
        XCTAssertEqual(clonesLeft(container), [])
    }

    func testResyncTakesASnapshotSoLatestClonesIncludeWhatCameAfter() async throws {
        let upstream = try await UpstreamCluster(name: "resync")
        upstreams.append(upstream)
        let container = try ContainerFixture(name: "c")
        containers.append(container)
        try await container.initContainer(upstream: upstream)
        try container.setConfig("clone_listen_addresses", "''")
        try upstream.sql("CREATE TABLE markers (note text)")
        try upstream.sql("INSERT INTO markers VALUES ('before')")
        let before = try SnapshotStore(layout: container.layout).list().map(\.name)

        // While the receiver is down the upstream writes (and switches segments): after the
        // resync's new slot, that WAL is never in the archive, a gap.
        try await container.ok(["container", "stop"])
        try upstream.sql("INSERT INTO markers VALUES ('while-stopped')")
        for _ in 0..<2 { _ = try upstream.scalar("SELECT pg_switch_wal()") }
        try upstream.sql("CHECKPOINT")
        let resyncStarted = Date()
        try await container.ok(["container", "resync"])
        let after = try SnapshotStore(layout: container.layout).list()
        let new = after.filter { !before.contains($0.name) }
        XCTAssertEqual(new.count, 1, "resync took one snapshot of the new standby: \(after.map(\.name))")
        if let first = new.first { XCTAssertGreaterThan(first.takenAt, resyncStarted) }

        try upstream.sql("INSERT INTO markers VALUES ('after-resync')")
        await waitUntilReceived(upstream)
        let created = try await container.ok(["clone", "create", "newest", "--latest", "--start"])
        XCTAssertTrue(created.stdout.contains("snapshot=\(new.first?.name ?? "a snapshot taken by the resync")"), created.stdout)
        XCTAssertEqual(try cloneScalar(container, "newest", "SELECT string_agg(note, ',' ORDER BY note) FROM markers"),
                       "after-resync,before,while-stopped")
        try await container.ok(["clone", "delete", "--force", "newest"])
    }
}
