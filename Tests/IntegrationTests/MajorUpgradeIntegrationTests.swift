import Foundation
import PGArchiveCore
import PGArchiveTestSupport
import Postgres
import XCTest

/// A major upgrade of the upstream with pg_upgrade (issue 15): pgarchive stops the old
/// version's pg_receivewal and says so, `container resync --pg-bindir` moves the container
/// onto the new version, and the snapshots from before still restore with the old version.
///
/// The upgrade goes from the version matrix's PyPI build of 16 to that of 18: Debian's
/// 15.20 stores a `pg_attver` attribute option on every column, which neither 16.2's nor
/// 18.6's pg_restore accepts, so pg_upgrade from it fails ("unrecognized parameter
/// pg_attver"). It runs in the PostgreSQL 15 leg of `make test`, which installs both builds.
final class MajorUpgradeIntegrationTests: XCTestCase {
    var upstream: UpstreamCluster?
    var container: ContainerFixture?
    /// A `restore --to` directory and the pg_ctl that runs it, stopped in tearDown.
    var restored: (dataDirectory: String, pgCtl: String)?

    override func tearDown() async throws {
        if let restored {
            _ = try? await ToolCommand(executable: restored.pgCtl, arguments: ["-D", restored.dataDirectory, "-m", "immediate", "-w", "-t", "60", "stop"]).run()
            try? FileManager.default.removeItem(atPath: (restored.dataDirectory as NSString).deletingLastPathComponent)
        }
        if let container {
            for name in ["before-upgrade", "after-upgrade"] { _ = try? await container.run(["clone", "delete", "--force", name]) }
            await container.destroy()
        }
        await upstream?.destroy()
        container = nil
        upstream = nil
    }

    func cloneNotes(_ container: ContainerFixture, _ name: String) throws -> (version: Int, notes: [String]) {
        let port = try CloneStore(layout: container.layout).get(name).port
        let connection = try Connection(conninfo: "host=\(container.layout.run) port=\(port) dbname=postgres user=\(try container.config().standbyUser)", connectTimeout: 10)
        defer { connection.close() }
        return (connection.serverMajorVersion, try connection.query("SELECT note FROM markers ORDER BY id").rows.compactMap { $0[0] })
    }

    func testUpgradedUpstreamStopsTheReceiverUntilResyncAndOldSnapshotsRestoreOnTheOldVersion() async throws {
        let old = try UpstreamCluster.matrixBinaries(16), new = try UpstreamCluster.matrixBinaries(18)
        let upstream = try await UpstreamCluster(name: "upgrade", binaries: old)
        self.upstream = upstream
        try upstream.sql("CREATE TABLE markers (id serial PRIMARY KEY, note text NOT NULL)")
        let container = try ContainerFixture(name: "upgraded")
        self.container = container
        try await container.initContainer(upstream: upstream, extra: ["--pg-bindir", old.bindir])
        let recorded = try container.config()
        XCTAssertEqual(recorded.upstreamVersion, 16)

        // History on 16: a snapshot, then a restore point after one more marker.
        try upstream.sql("INSERT INTO markers (note) VALUES ('16-in-snapshot')")
        try await container.newCheckpointReplayed(upstream)
        try await container.ok(["snapshot", "create"])
        let preUpgrade = try XCTUnwrap(try SnapshotStore(layout: container.layout).list().last)
        XCTAssertEqual(preUpgrade.pgMajorVersion, 16)
        XCTAssertEqual(preUpgrade.pgBindir, old.bindir)
        try upstream.sql("INSERT INTO markers (note) VALUES ('16-before-rp')")
        try await container.ok(["restorepoint", "create", "rp_before_upgrade"])
        try upstream.sql("INSERT INTO markers (note) VALUES ('16-after-rp')")
        _ = try upstream.scalar("SELECT pg_switch_wal()")
        let replayed = await eventually(timeout: 60) { container.standbyScalar("SELECT count(*) FROM markers") == "3" }
        XCTAssertTrue(replayed, "the standby did not replay the markers written on 16")

        // pg_upgrade to 18. An operator following "the slot is missing" creates it again, so a
        // receiver of the right version could stream from it: nothing may.
        try await upstream.upgrade(to: new)
        try upstream.sql("INSERT INTO markers (note) VALUES ('18-before-resync')")
        let newSystemIdentifier = try XCTUnwrap(upstream.scalar("SELECT system_identifier::text FROM pg_control_system()"))
        XCTAssertNotEqual(newSystemIdentifier, recorded.systemIdentifier, "pg_upgrade gives the new cluster its own system identifier")
        _ = try upstream.scalar("SELECT pg_create_physical_replication_slot($1, true)", [recorded.slot])
        let archiveBefore = Set(try WALArchive(directory: container.layout.walArchive).entries().map(\.name.baseName))

        let watchdog = try await container.run(["cron", "watchdog"])
        XCTAssertNotEqual(watchdog.exitCode, 0, "\(watchdog)")
        let resyncCommand = "pgarchive container resync -C \(container.path) --pg-bindir <PostgreSQL 18 bin directory>"
        XCTAssertTrue(watchdog.stderr.contains("the upstream was upgraded to a new major version") && watchdog.stderr.contains(resyncCommand), "\(watchdog)")
        XCTAssertNil(container.receiverPID().flatMap { Processes.isAlive($0) ? $0 : nil }, "pg_receivewal must stay stopped")
        let again = try await container.run(["cron", "watchdog"])
        XCTAssertNotEqual(again.exitCode, 0, "\(again)")
        XCTAssertFalse(again.stderr.contains("restarted pg_receivewal"), "\(again)")
        let start = try await container.run(["container", "start"])
        XCTAssertEqual(start.exitCode, 1, "\(start)")
        XCTAssertTrue(start.stderr.contains("pg_receivewal was not started") && start.stderr.contains(resyncCommand), "\(start)")
        XCTAssertNil(container.receiverPID().flatMap { Processes.isAlive($0) ? $0 : nil }, "container start must not start pg_receivewal")

        let status = try await container.run(["container", "status"])
        XCTAssertNotEqual(status.exitCode, 0, "\(status)")
        XCTAssertTrue(status.stdout.contains("upstream CHANGED: PostgreSQL 16 → 18."), status.stdout)
        XCTAssertTrue(status.stdout.contains(resyncCommand), status.stdout)
        let json = try await container.run(["container", "status", "--json"])
        try await StatusSchema.assertValid(json.stdout)
        let change = try XCTUnwrap((try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])?["upstreamChange"] as? [String: Any], json.stdout)
        XCTAssertEqual(change["recordedMajorVersion"] as? Int, 16)
        XCTAssertEqual(change["upstreamMajorVersion"] as? Int, 18)
        XCTAssertEqual(change["upstreamSystemIdentifier"] as? String, newSystemIdentifier)
        let check = try await container.run(["check"])
        XCTAssertEqual(check.exitCode, 2, "\(check)")
        XCTAssertTrue(check.stdout.contains("CRITICAL") && check.stdout.contains("upstream identity") && check.stdout.contains(resyncCommand), check.stdout)
        let metrics = try await container.run(["metrics"])
        XCTAssertTrue(metrics.stdout.contains("pgarchive_upstream_changed{container=\"\(container.layout.root)\"} 1"), metrics.stdout)
        XCTAssertEqual(Set(try WALArchive(directory: container.layout.walArchive).entries().map(\.name.baseName)), archiveBefore,
                       "no WAL of the new cluster may land in the old archive")

        // Resync onto 18; the new standby replays the new cluster.
        let resync = try await container.run(["container", "resync", "--pg-bindir", new.bindir])
        XCTAssertEqual(resync.exitCode, 0, "\(resync)")
        XCTAssertEqual(try container.config().upstreamVersion, 18)
        XCTAssertEqual(try container.config().pgBindir, new.bindir)
        XCTAssertEqual(try container.config().systemIdentifier, newSystemIdentifier)
        try upstream.sql("INSERT INTO markers (note) VALUES ('18-after-resync')")
        try await container.newCheckpointReplayed(upstream)
        let healthy = try await container.run(["check"])
        XCTAssertFalse(healthy.stdout.contains("upstream identity"), healthy.stdout)
        XCTAssertEqual(container.standbyScalar("SELECT current_setting('server_version_num')::int / 10000"), "18")

        // verify reads each snapshot's pg_control with its own version's pg_controldata.
        let verify = try await container.run(["verify"])
        XCTAssertEqual(verify.exitCode, 0, "\(verify)")

        // A clone from before the upgrade runs on 16 and replays the old WAL to the restore point.
        try await container.ok(["clone", "create", "before-upgrade", "--snapshot", preUpgrade.name, "--restore-point", "rp_before_upgrade", "--start"])
        let before = try cloneNotes(container, "before-upgrade")
        XCTAssertEqual(before.version, 16)
        XCTAssertEqual(before.notes, ["16-in-snapshot", "16-before-rp"])
        // So does `restore --to` of that snapshot: the pg_ctl it prints is 16's.
        let scratch = try TemporaryDirectory.make(prefix: "pgarchive-upgrade-restore")
        let port = try FreePort.find()
        restored = (scratch + "/data", old.path("pg_ctl"))
        let restore = try await container.run(["restore", "--to", scratch + "/data", "--snapshot", preUpgrade.name, "--restore-point", "rp_before_upgrade",
                                               "--port", String(port), "--socket-directory", scratch])
        XCTAssertEqual(restore.exitCode, 0, "\(restore)")
        XCTAssertTrue(restore.stdout.contains(old.path("pg_ctl")), "restore --to prints 16's pg_ctl: \(restore.stdout)")
        try await ToolCommand(executable: old.path("pg_ctl"), arguments: ["-D", scratch + "/data", "-l", scratch + "/data.log", "-w", "-t", "60", "start"]).runChecked()
        let promoted = await eventually(timeout: 60) {
            guard let c = try? Connection(conninfo: "host=\(scratch) port=\(port) dbname=postgres user=\(recorded.standbyUser)", connectTimeout: 3) else { return false }
            defer { c.close() }
            return (try? c.query("SELECT pg_is_in_recovery()").rows.first?[0]) == "f"
        }
        XCTAssertTrue(promoted, (try? String(contentsOfFile: scratch + "/data.log", encoding: .utf8)) ?? "(no log)")
        let restoredConnection = try Connection(conninfo: "host=\(scratch) port=\(port) dbname=postgres user=\(recorded.standbyUser)", connectTimeout: 5)
        XCTAssertEqual(restoredConnection.serverMajorVersion, 16)
        XCTAssertEqual(try restoredConnection.query("SELECT note FROM markers ORDER BY id").rows.compactMap { $0[0] }, ["16-in-snapshot", "16-before-rp"])
        restoredConnection.close()

        // One from after it runs on 18 and holds the markers of both versions.
        try await container.ok(["clone", "create", "after-upgrade", "--latest", "--start"])
        let after = try cloneNotes(container, "after-upgrade")
        XCTAssertEqual(after.version, 18)
        XCTAssertEqual(after.notes, ["16-in-snapshot", "16-before-rp", "16-after-rp", "18-before-resync", "18-after-resync"])
    }
}
