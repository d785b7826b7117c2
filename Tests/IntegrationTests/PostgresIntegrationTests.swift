import Foundation
import PGArchiveTestSupport
@testable import Postgres
import XCTest

/// The `Postgres` module against a real throwaway PostgreSQL 15 (one per test).
final class PostgresIntegrationTests: XCTestCase {
    private var cluster: UpstreamCluster!

    override func setUp() async throws {
        // The option goes through pg_ctl's /bin/sh: proves PgCtl's -o quoting.
        cluster = try await UpstreamCluster(name: "pg-it", serverOptions: ["-c", "cluster_name=it's a $HOME test"])
    }

    override func tearDown() async throws {
        await cluster?.destroy()
        cluster = nil
    }

    func testConnectAndQueryWithParameters() throws {
        let connection = try Connection(conninfo: cluster.conninfo)
        XCTAssertTrue(connection.isOpen)
        XCTAssertEqual(connection.serverMajorVersion, 15)
        XCTAssertGreaterThanOrEqual(connection.serverVersionNumber, 150000)

        let result = try connection.query("SELECT $1::int + 1 AS next, $2::text AS quoted, $3::text AS nothing",
                                          ["41", "it's a 'quoted'; DROP TABLE x; --", nil])
        XCTAssertEqual(result.columns, ["next", "quoted", "nothing"])
        let row = try result.singleRow()
        XCTAssertEqual(try row.int("next"), 42)
        XCTAssertEqual(row["quoted"], "it's a 'quoted'; DROP TABLE x; --")
        XCTAssertNil(row["nothing"])
        XCTAssertNil(try row.optionalString("nothing"))

        try connection.execute("CREATE TABLE marker (id int PRIMARY KEY, note text)")
        XCTAssertEqual(try connection.execute("INSERT INTO marker SELECT g, 'n' || g FROM generate_series(1, $1::int) g", ["3"]), 3)
        let rows = try connection.query("SELECT id, note FROM marker WHERE id >= $1 ORDER BY id", ["2"])
        XCTAssertEqual(rows.rows.map { $0["note"] }, ["n2", "n3"])
        XCTAssertEqual(rows.commandStatus, "SELECT 2")
        XCTAssertEqual(try connection.query("SELECT 'ünïcödé ✓' AS u").singleRow()["u"], "ünïcödé ✓")
        XCTAssertEqual(try connection.query("SELECT 'pgarchive' = current_setting('application_name') AS ok").singleRow().bool("ok"), true)
        XCTAssertEqual(try connection.currentSetting("cluster_name"), "it's a $HOME test")
    }

    func testServerErrorCarriesSQLState() throws {
        let connection = try Connection(conninfo: cluster.conninfo)
        XCTAssertThrowsError(try connection.query("SELECT * FROM nope WHERE id = $1", ["1"])) { error in
            let error = error as! PostgresError
            XCTAssertEqual(error.kind, .query)
            XCTAssertEqual(error.sqlState, "42P01")
            XCTAssertEqual(error.message, #"relation "nope" does not exist"#)
            XCTAssertEqual(error.description, #"PostgreSQL error: relation "nope" does not exist (SQLSTATE 42P01)"#)
        }
        try connection.execute("CREATE TABLE t (id int PRIMARY KEY)")
        try connection.execute("INSERT INTO t VALUES (1)")
        XCTAssertThrowsError(try connection.execute("INSERT INTO t VALUES ($1)", ["1"])) { error in
            let error = error as! PostgresError
            XCTAssertEqual(error.sqlState, "23505")
            XCTAssertEqual(error.detail, "Key (id)=(1) already exists.")
            XCTAssertFalse(error.description.contains("\n"))
        }
        // The connection is still usable after an error.
        XCTAssertEqual(try connection.query("SELECT count(*) AS n FROM t").singleRow().int("n"), 1)
    }

    func testNoticesGoToTheHandler() throws {
        let connection = try Connection(conninfo: cluster.conninfo)
        var notices: [String] = []
        connection.noticeHandler = { notices.append($0) }
        try connection.execute("DO $$ BEGIN RAISE WARNING 'slot % is lagging', 'x'; END $$")
        XCTAssertEqual(notices.count, 1)
        XCTAssertTrue(notices.first?.hasPrefix("WARNING:") == true, "\(notices)")
        XCTAssertTrue(notices.first?.hasSuffix("slot x is lagging") == true, "\(notices)")
    }

    func testWrongConninfoGivesOneLineError() throws {
        XCTAssertThrowsError(try Connection(conninfo: "host=\(cluster.socketDirectory) port=\(cluster.port + 1) user=postgres password=hunter2")) { error in
            let error = error as! PostgresError
            XCTAssertEqual(error.kind, .connection)
            XCTAssertEqual(error.description,
                           #"could not connect to PostgreSQL (host=\#(cluster.socketDirectory) port=\#(cluster.port + 1) user=postgres): connection to server on socket "\#(cluster.socketDirectory)/.s.PGSQL.\#(cluster.port + 1)" failed: No such file or directory. Is the server running locally and accepting connections on that socket?"#)
            XCTAssertFalse(error.description.contains("hunter2"))
        }
        XCTAssertThrowsError(try Connection(conninfo: cluster.conninfo + " dbname=nosuchdb")) { error in
            let error = error as! PostgresError
            XCTAssertEqual(error.kind, .connection)
            XCTAssertTrue(error.description.hasSuffix(#"failed: FATAL:  database "nosuchdb" does not exist"#), error.description)
            XCTAssertFalse(error.description.contains("\n"))
        }
        XCTAssertThrowsError(try Connection(conninfo: "host=x port")) { error in
            XCTAssertEqual((error as! PostgresError).kind, .invalidInput)
            XCTAssertEqual("\(error)", #"invalid connection string: missing "=" after "port" in connection info string"#)
        }
    }

    func testLostAndClosedConnections() throws {
        let victim = try Connection(conninfo: cluster.conninfo)
        let pid = try victim.query("SELECT pg_backend_pid() AS pid").singleRow().string("pid")
        let admin = try Connection(conninfo: cluster.conninfo)
        try admin.query("SELECT pg_terminate_backend($1::int)", [pid])
        XCTAssertThrowsError(try victim.query("SELECT 1")) { error in
            let error = error as! PostgresError
            XCTAssertEqual(error.kind, .connectionLost, error.description)
            XCTAssertTrue(error.description.hasPrefix("lost the connection to PostgreSQL (host="), error.description)
        }
        admin.close()
        XCTAssertFalse(admin.isOpen)
        XCTAssertThrowsError(try admin.query("SELECT 1")) { error in
            XCTAssertEqual((error as! PostgresError).kind, .connectionLost)
        }
    }

    func testPhysicalReplicationSlotLifecycle() throws {
        let connection = try Connection(conninfo: cluster.conninfo)
        let reserved = try XCTUnwrap(try connection.createPhysicalReplicationSlot("pgarchive_test"))
        let slot = try XCTUnwrap(try connection.replicationSlot(named: "pgarchive_test"))
        XCTAssertEqual(slot, ReplicationSlot(name: "pgarchive_test", slotType: "physical", active: false,
                                             activePID: nil, restartLSN: reserved, walStatus: "reserved"))
        XCTAssertThrowsError(try connection.createPhysicalReplicationSlot("pgarchive_test")) { error in
            let error = error as! PostgresError
            XCTAssertEqual(error.sqlState, "42710")
            XCTAssertEqual(error.description, #"creating replication slot 'pgarchive_test' failed: replication slot "pgarchive_test" already exists (SQLSTATE 42710)"#)
        }

        XCTAssertNil(try connection.createPhysicalReplicationSlot("unreserved", reserveWAL: false))
        XCTAssertNil(try connection.replicationSlot(named: "unreserved")?.restartLSN)

        try connection.dropReplicationSlot("pgarchive_test")
        XCTAssertNil(try connection.replicationSlot(named: "pgarchive_test"))
        XCTAssertNoThrow(try connection.dropReplicationSlot("pgarchive_test", ifExists: true))
        XCTAssertThrowsError(try connection.dropReplicationSlot("pgarchive_test")) { error in
            XCTAssertEqual((error as! PostgresError).sqlState, "42704")
        }
        XCTAssertThrowsError(try connection.createPhysicalReplicationSlot("Bad-Name")) { error in
            XCTAssertEqual((error as! PostgresError).kind, .invalidInput)
        }
    }

    func testRestorePointAndWALFunctions() throws {
        let connection = try Connection(conninfo: cluster.conninfo)
        XCTAssertFalse(try connection.isInRecovery())
        XCTAssertEqual(try connection.currentSetting("wal_level"), "replica")
        XCTAssertThrowsError(try connection.currentSetting("no_such_setting")) { error in
            XCTAssertEqual((error as! PostgresError).sqlState, "42704")
            XCTAssertTrue("\(error)".hasPrefix("reading setting no_such_setting failed: "), "\(error)")
        }

        let before = try connection.currentWALLSN()
        let restorePoint = try connection.createRestorePoint("before_migration")
        XCTAssertGreaterThanOrEqual(restorePoint, before)
        // pg_current_wal_lsn() is the *written* position, which may still be behind the
        // restore point's record until the switch below writes everything out.
        let switchEnd = try connection.switchWAL()
        let after = try connection.currentWALLSN()
        XCTAssertGreaterThanOrEqual(after, switchEnd)
        XCTAssertGreaterThan(switchEnd, restorePoint)
        // After a switch the next record starts in a new segment.
        XCTAssertGreaterThan(after.segmentNumber(), restorePoint.segmentNumber())
        let serverName = try connection.query("SELECT pg_walfile_name($1::pg_lsn) AS name", [restorePoint.description])
            .singleRow().string("name")
        XCTAssertEqual(restorePoint.walFileName(timeline: 1), serverName)

        try connection.checkpoint()
        XCTAssertNil(try connection.lastReplayLSN())
        XCTAssertNil(try connection.lastTransactionReplayTimestamp())
    }

    func testControlDataOfRunningCluster() async throws {
        let connection = try Connection(conninfo: cluster.conninfo)
        try connection.checkpoint()
        let control = try await ControlData.read(dataDirectory: cluster.dataDirectory, binaries: cluster.binaries)
        let server = try connection.query("""
            SELECT s.system_identifier::text AS id, c.redo_lsn, c.redo_wal_file, c.timeline_id,
                   c.checkpoint_lsn, extract(epoch FROM c.checkpoint_time)::text AS time
            FROM pg_control_system() s, pg_control_checkpoint() c
            """).singleRow()
        XCTAssertEqual(control.clusterState, .inProduction)
        XCTAssertEqual(control.systemIdentifier, UInt64(try server.string("id")))
        XCTAssertEqual(control.redoLocation, try server.lsn("redo_lsn"))
        XCTAssertEqual(control.latestCheckpointLocation, try server.lsn("checkpoint_lsn"))
        XCTAssertEqual(control.redoWALFile, try server.string("redo_wal_file"))
        XCTAssertEqual(control.timeline, UInt32(try server.int("timeline_id")))
        XCTAssertEqual(control.checkpointTime, Date(timeIntervalSince1970: try server.double("time")))
        XCTAssertEqual(control.walSegmentSize, 16 << 20)
        XCTAssertNil(control.minimumRecoveryEndingLocation)

        do {
            _ = try await ControlData.read(dataDirectory: cluster.directory + "/nonexistent", binaries: cluster.binaries)
            XCTFail("expected pg_controldata to fail")
        } catch let error as CommandError {
            XCTAssertTrue(error.description.contains("pg_controldata failed with exit code 1"), error.description)
        }
    }

    /// The argv builders against the real tools: pg_isready, psql, pg_basebackup through a slot.
    func testToolCommandsRun() async throws {
        let ready = try await PgIsReady(binaries: cluster.binaries, conninfo: cluster.conninfo, timeout: 5).command.run()
        XCTAssertEqual(ready.exitCode, 0)

        let psql = try await Psql(binaries: cluster.binaries, conninfo: cluster.conninfo, sql: "SELECT 6 * 7",
                                  noPsqlrc: true, bareOutput: true).command.runChecked()
        XCTAssertEqual(psql.standardOutput, "42\n")

        let connection = try Connection(conninfo: cluster.conninfo)
        try connection.createPhysicalReplicationSlot("basebackup")
        let target = cluster.directory + "/copy"
        try await PgBaseBackup(binaries: cluster.binaries, pgdata: target, conninfo: cluster.conninfo,
                               slot: "basebackup", label: "pgarchive test").command.runChecked()
        let label = try String(contentsOfFile: target + "/backup_label", encoding: .utf8)
        XCTAssertTrue(label.contains("LABEL: pgarchive test"), label)
        let copy = try await ControlData.read(dataDirectory: target, binaries: cluster.binaries)
        let original = try await ControlData.read(dataDirectory: cluster.dataDirectory, binaries: cluster.binaries)
        XCTAssertEqual(copy.systemIdentifier, original.systemIdentifier)
        XCTAssertNotNil(try connection.replicationSlot(named: "basebackup")?.restartLSN)
    }
}
