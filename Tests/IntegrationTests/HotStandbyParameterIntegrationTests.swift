import Foundation
import PGArchiveCore
import PGArchiveTestSupport
import Postgres
import XCTest

/// Issue 18 item 8: a standby (or a clone) whose max_connections & co. are lower than the
/// upstream's when it replays the upstream's parameter-change record pauses ("insufficient
/// parameter settings") for ever. The watchdog brings the standby past it, and clones start
/// with values high enough for every record they replay.
final class HotStandbyParameterIntegrationTests: XCTestCase {
    var upstream: UpstreamCluster?
    var container: ContainerFixture?

    override func tearDown() async throws {
        await container?.destroy()
        await upstream?.destroy()
    }

    func count(_ connection: Connection, _ sql: String) throws -> Int {
        Int(try connection.query(sql).rows.first?[0] ?? "-1") ?? -1
    }

    func cloneConnection(_ container: ContainerFixture, _ name: String) throws -> Connection {
        let data = try Data(contentsOf: URL(fileURLWithPath: container.layout.clone(name) + "/pgarchive.clone.json"))
        let metadata = try SnapshotStore.decoder.decode(CloneMetadata.self, from: data)
        return try Connection(conninfo: "host=\(container.layout.run) port=\(metadata.port) dbname=postgres user=\(try container.config().standbyUser)", connectTimeout: 5)
    }

    func testRaisedMaxConnectionsUpstreamIsFollowedByStandbyAndClones() async throws {
        let upstream = try await UpstreamCluster(name: "hotstandby", settings: ["max_connections": "50"])
        self.upstream = upstream
        let container = try ContainerFixture(name: "c")
        self.container = container
        try upstream.sql("CREATE TABLE markers (id serial PRIMARY KEY, note text NOT NULL)")
        try await upstream.pgbenchInit(scale: 2)
        try await container.initContainer(upstream: upstream)
        XCTAssertEqual(container.standbyScalar("SHOW max_connections"), "50")

        try upstream.sql("INSERT INTO markers (note) VALUES ('A')")
        try await upstream.pgbench(seconds: 3)
        // The upstream raises max_connections and restarts: it writes a parameter-change record.
        try upstream.sql("ALTER SYSTEM SET max_connections = 120")
        await upstream.stop()
        try await upstream.start()
        try upstream.sql("INSERT INTO markers (note) VALUES ('B')")
        let target = try XCTUnwrap(upstream.scalar("SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00'"))
        try await Task.sleep(for: .milliseconds(1200))
        try await upstream.pgbench(seconds: 3)
        try upstream.sql("INSERT INTO markers (note) VALUES ('C')")
        let history = try XCTUnwrap(upstream.scalar("SELECT count(*) FROM pgbench_history"))
        _ = try upstream.scalar("SELECT pg_switch_wal()")

        // pg_receivewal lost its connection with the restart: the watchdog restarts it, and
        // brings the standby past the parameter change (a restart with the new values).
        var replayed = false
        var outputs: [String] = []
        for _ in 0..<6 where !replayed {
            let run = try await container.run(["cron", "watchdog"])
            outputs.append(run.stdout + run.stderr)
            replayed = await eventually(timeout: 20) {
                container.standbyScalar("SELECT count(*) FROM markers WHERE note = 'C'") == "1"
            }
        }
        guard replayed else {
            let log = (try? String(contentsOfFile: container.layout.standbyLog, encoding: .utf8)).map { String($0.suffix(3000)) } ?? ""
            XCTFail("the standby did not replay past the parameter change; watchdog said:\n\(outputs.joined(separator: "\n---\n"))\nstandby log:\n\(log)")
            return
        }
        XCTAssertEqual(container.standbyScalar("SHOW max_connections"), "120")
        XCTAssertTrue(outputs.joined().contains("max_connections"), outputs.joined(separator: "\n---\n"))
        let settings = try String(contentsOfFile: container.layout.standby + "/pgarchive.upstream.conf", encoding: .utf8)
        XCTAssertTrue(settings.contains("max_connections = '120'") || settings.contains("max_connections = 120"), settings)

        // Clones from the snapshot taken before the change (it says max_connections = 50).
        let snapshots = try await container.ok(["snapshot", "list"])
        XCTAssertEqual(snapshots.stdout.split(separator: "\n").filter { $0.contains("Z") }.count, 1, snapshots.stdout)
        try await container.ok(["clone", "create", "newest", "--latest", "--start"])
        let newest = try cloneConnection(container, "newest")
        XCTAssertEqual(try count(newest, "SELECT count(*) FROM markers WHERE note IN ('A', 'B', 'C')"), 3)
        XCTAssertEqual(try newest.query("SELECT count(*) FROM pgbench_history").rows.first?[0], history)
        XCTAssertEqual(try newest.query("SHOW max_connections").rows.first?[0], "120")
        newest.close()

        try await container.ok(["clone", "create", "between", "--time", target, "--start"])
        let between = try cloneConnection(container, "between")
        XCTAssertEqual(try count(between, "SELECT count(*) FROM markers WHERE note IN ('A', 'B')"), 2)
        XCTAssertEqual(try count(between, "SELECT count(*) FROM markers WHERE note = 'C'"), 0)
        between.close()
    }
}
