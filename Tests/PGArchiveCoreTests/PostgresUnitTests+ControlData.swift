import Foundation
import XCTest
@testable import Postgres

/// pg_controldata parsing from fixtures, error descriptions, query results.
extension PostgresUnitTests {
    // MARK: ControlData

    private func fixture(_ name: String) throws -> String {
        let url = try XCTUnwrap(Bundle.module.url(forResource: name, withExtension: "txt", subdirectory: "Fixtures"),
                                "fixture \(name).txt")
        return try String(contentsOf: url, encoding: .utf8)
    }

    private func utc(_ text: String) -> Date {
        ISO8601DateFormatter().date(from: text)!
    }

    func testControlDataOfRunningPrimary() throws {
        let control = try ControlData.parse(fixture("pg_controldata-15-primary-in-production"))
        XCTAssertEqual(control.clusterState, .inProduction)
        XCTAssertEqual(control.systemIdentifier, 7710549936604206215)
        XCTAssertEqual(control.lastModified, utc("2026-11-21T09:11:48Z"))
        XCTAssertEqual(control.latestCheckpointLocation, LSN("0/3000E58"))
        XCTAssertEqual(control.redoLocation, LSN("0/3000E20"))
        XCTAssertEqual(control.redoWALFile, "000000010000000000000003")
        XCTAssertEqual(control.redoWALFile, control.redoLocation.walFileName(timeline: control.timeline))
        XCTAssertEqual(control.timeline, 1)
        XCTAssertEqual(control.previousTimeline, 1)
        XCTAssertEqual(control.checkpointTime, utc("2026-11-21T09:11:48Z"))
        XCTAssertNil(control.minimumRecoveryEndingLocation)
        XCTAssertNil(control.minimumRecoveryEndingTimeline)
        XCTAssertEqual(control.walSegmentSize, 16 << 20)
        XCTAssertEqual(control.walLevel, "replica")
        XCTAssertEqual(control.fields["Latest checkpoint's NextXID"], "0:726")
        XCTAssertEqual(control.fields["Database block size"], "8192")
    }

    func testControlDataOfStandbyInArchiveRecovery() throws {
        let control = try ControlData.parse(fixture("pg_controldata-15-standby-in-archive-recovery"))
        XCTAssertEqual(control.clusterState, .inArchiveRecovery)
        XCTAssertEqual(control.redoLocation, LSN("0/3000E20"))
        XCTAssertEqual(control.minimumRecoveryEndingLocation, LSN("0/4000050"))
        XCTAssertEqual(control.minimumRecoveryEndingTimeline, 1)
        XCTAssertEqual(control.lastModified, utc("2026-11-21T09:11:51Z"))
        XCTAssertEqual(control.checkpointTime, utc("2026-11-21T09:11:48Z"))
    }

    func testControlDataOfShutDownClusters() throws {
        let primary = try ControlData.parse(fixture("pg_controldata-15-primary-shut-down"))
        XCTAssertEqual(primary.clusterState, .shutDown)
        XCTAssertEqual(primary.latestCheckpointLocation, LSN("0/4000050"))
        XCTAssertEqual(primary.redoWALFile, "000000010000000000000004")

        let standby = try ControlData.parse(fixture("pg_controldata-15-standby-shut-down-in-recovery"))
        XCTAssertEqual(standby.clusterState, .shutDownInRecovery)
        XCTAssertEqual(standby.minimumRecoveryEndingLocation, LSN("0/4000050"))

        let promoted = try ControlData.parse(fixture("pg_controldata-15-promoted-timeline-2"))
        XCTAssertEqual(promoted.clusterState, .inProduction)
        XCTAssertEqual(promoted.timeline, 2)
        XCTAssertEqual(promoted.redoWALFile, "000000020000000000000004")
        XCTAssertEqual(promoted.systemIdentifier, primary.systemIdentifier)
    }

    /// PostgreSQL 16.2 and 18.6 (the PyPI builds `make test` installs): the same fields, and
    /// 18's new "Default char data signedness" line is read without complaint. Fixtures made
    /// with initdb, a running primary, a pg_basebackup standby after a restartpoint, then
    /// a clean shutdown (LC_ALL=C).
    func testControlDataOfPostgreSQL16And18() throws {
        for (version, system, redo, checkpoint, standbyRedo, minRecovery, shutDownAt) in [
            ("16", UInt64(7714465646273226675), "0/14A70E8", "0/14A7150", "0/3000068", "0/3000140", "0/3000140"),
            ("18", UInt64(7714465650349000646), "0/171F8C8", "0/171F950", "0/3001E98", "0/3001F90", "0/3001F90"),
        ] {
            let primary = try ControlData.parse(fixture("pg_controldata-\(version)-primary-in-production"))
            XCTAssertEqual(primary.clusterState, .inProduction, version)
            XCTAssertEqual(primary.systemIdentifier, system, version)
            XCTAssertEqual(primary.redoLocation, LSN(redo), version)
            XCTAssertEqual(primary.latestCheckpointLocation, LSN(checkpoint), version)
            XCTAssertEqual(primary.redoWALFile, primary.redoLocation.walFileName(timeline: primary.timeline), version)
            XCTAssertEqual(primary.timeline, 1, version)
            XCTAssertNil(primary.minimumRecoveryEndingLocation, version)
            XCTAssertEqual(primary.walSegmentSize, 16 << 20, version)
            XCTAssertEqual(primary.walLevel, "replica", version)
            XCTAssertNotNil(primary.checkpointTime, version)

            let standby = try ControlData.parse(fixture("pg_controldata-\(version)-standby-in-archive-recovery"))
            XCTAssertEqual(standby.clusterState, .inArchiveRecovery, version)
            XCTAssertEqual(standby.systemIdentifier, system, version)
            XCTAssertEqual(standby.redoLocation, LSN(standbyRedo), version)
            XCTAssertEqual(standby.minimumRecoveryEndingLocation, LSN(minRecovery), version)
            XCTAssertEqual(standby.minimumRecoveryEndingTimeline, 1, version)

            let shutDown = try ControlData.parse(fixture("pg_controldata-\(version)-primary-shut-down"))
            XCTAssertEqual(shutDown.clusterState, .shutDown, version)
            XCTAssertEqual(shutDown.latestCheckpointLocation, LSN(shutDownAt), version)
            XCTAssertEqual(shutDown.redoLocation, LSN(shutDownAt), version)
        }
        let eighteen = try fixture("pg_controldata-18-primary-in-production")
        XCTAssertEqual(try ControlData.parse(eighteen).fields["Default char data signedness"], "signed")
    }

    func testControlDataParseErrorsNameTheField() throws {
        let full = try fixture("pg_controldata-15-primary-in-production")
        let withoutRedo = full.split(separator: "\n").filter { !$0.hasPrefix("Latest checkpoint's REDO location") }
            .joined(separator: "\n")
        XCTAssertThrowsError(try ControlData.parse(withoutRedo)) {
            XCTAssertEqual("\($0)", "pg_controldata output has no 'Latest checkpoint's REDO location' line (was it run with LC_ALL=C?)")
        }
        let badTime = full.replacingOccurrences(of: "Time of latest checkpoint:            Sat Nov 21 09:11:48 2026",
                                                with: "Time of latest checkpoint:            sometime")
        XCTAssertThrowsError(try ControlData.parse(badTime)) {
            XCTAssertEqual("\($0)", "pg_controldata 'Time of latest checkpoint' is 'sometime', which is not a time")
        }
        XCTAssertThrowsError(try ControlData.parse("Datenbanksystemidentifikation: 1\n"))
    }

    func testControlDataTimeFormats() {
        let utcZone = TimeZone(identifier: "UTC")!
        XCTAssertEqual(ControlData.parseTime("Sat Nov 21 08:15:00 2026", timeZone: utcZone), utc("2026-11-21T08:15:00Z"))
        XCTAssertEqual(ControlData.parseTime("Sun Nov  1 23:59:59 2026", timeZone: utcZone), utc("2026-11-01T23:59:59Z"))
        XCTAssertEqual(ControlData.parseTime("Sat 21 Nov 2026 08:15:00 AM UTC", timeZone: utcZone), utc("2026-11-21T08:15:00Z"))
        XCTAssertEqual(ControlData.parseTime("Sat 21 Nov 2026 12:15:00 AM UTC", timeZone: utcZone), utc("2026-11-21T00:15:00Z"))
        XCTAssertEqual(ControlData.parseTime("Sat 21 Nov 2026 12:15:00 PM UTC", timeZone: utcZone), utc("2026-11-21T12:15:00Z"))
        XCTAssertEqual(ControlData.parseTime("Sat 21 Nov 2026 08:15:00 PM UTC", timeZone: utcZone), utc("2026-11-21T20:15:00Z"))
        let berlin = TimeZone(identifier: "Europe/Berlin")!
        XCTAssertEqual(ControlData.parseTime("Sat Nov 21 09:15:00 2026", timeZone: berlin), utc("2026-11-21T08:15:00Z"))
        XCTAssertNil(ControlData.parseTime("2026-11-21 08:15:00", timeZone: utcZone))
        XCTAssertNil(ControlData.parseTime("Sat Foo 21 08:15:00 2026", timeZone: utcZone))
    }

    // MARK: Errors

    func testPostgresErrorDescriptionsAreOneLine() {
        let connection = PostgresError(
            kind: .connection,
            message: PostgresError.singleLine("connection to server on socket \"/tmp/x/.s.PGSQL.5999\" failed: No such file or directory\n\tIs the server running locally and accepting connections on that socket?\n"),
            context: "host=/tmp/x port=5999")
        XCTAssertEqual(connection.description,
                       #"could not connect to PostgreSQL (host=/tmp/x port=5999): connection to server on socket "/tmp/x/.s.PGSQL.5999" failed: No such file or directory. Is the server running locally and accepting connections on that socket?"#)

        let query = PostgresError(kind: .query, message: "replication slot \"s\" is active for PID 42",
                                  sqlState: "55006", context: "dropping replication slot 's'")
        XCTAssertEqual(query.description,
                       #"dropping replication slot 's' failed: replication slot "s" is active for PID 42 (SQLSTATE 55006)"#)

        let withDetail = PostgresError(kind: .query, message: "duplicate key value violates unique constraint \"t_pkey\"",
                                       sqlState: "23505", detail: "Key (id)=(1) already exists.", hint: "Use another id")
        XCTAssertEqual(withDetail.description,
                       #"PostgreSQL error: duplicate key value violates unique constraint "t_pkey" (SQLSTATE 23505). DETAIL: Key (id)=(1) already exists. HINT: Use another id"#)
        XCTAssertEqual(PostgresError.singleLine("a\nb.\n\n  c"), "a. b. c")
    }

    func testConnectionTargetNeverShowsPassword() throws {
        let target = Connection.describeTarget(try Conninfo("host=/tmp/x port=5999 user=u password=secret dbname=app sslmode=disable"))
        XCTAssertEqual(target, "host=/tmp/x port=5999 dbname=app user=u")
        XCTAssertEqual(Connection.describeTarget(try Conninfo("")), "default connection parameters")
    }

    func testConnectionFailureIsOneActionableLine() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pgarchive-nosuch-\(UUID().uuidString)").path
        XCTAssertThrowsError(try Connection(conninfo: "host=\(directory) port=5999 password=secret dbname=app")) { error in
            let error = error as! PostgresError
            XCTAssertEqual(error.kind, .connection)
            XCTAssertEqual(error.description,
                           #"could not connect to PostgreSQL (host=\#(directory) port=5999 dbname=app): connection to server on socket "\#(directory)/.s.PGSQL.5999" failed: No such file or directory. Is the server running locally and accepting connections on that socket?"#)
        }
    }

    // MARK: QueryResult

    func testRowAccessors() throws {
        let result = QueryResult(columns: ["name", "n", "ok", "lsn", "nothing"],
                                 rows: [["a", "42", "t", "0/3000028", nil]])
        let row = try result.singleRow()
        XCTAssertEqual(row["name"], "a")
        XCTAssertEqual(row[1], "42")
        XCTAssertNil(row["nothing"])
        XCTAssertNil(row["missing"])
        XCTAssertEqual(try row.int("n"), 42)
        XCTAssertEqual(try row.bool("ok"), true)
        XCTAssertEqual(try row.lsn("lsn"), LSN(0x3000028))
        XCTAssertNil(try row.optionalLSN("nothing"))
        XCTAssertThrowsError(try row.int("nothing")) {
            XCTAssertEqual("\($0)", "column 'nothing' is NULL where a value was expected")
        }
        XCTAssertThrowsError(try row.int("name")) {
            XCTAssertEqual("\($0)", "column 'name' holds 'a', which is not an integer")
        }
        XCTAssertThrowsError(try row.bool("n")) {
            XCTAssertEqual("\($0)", "column 'n' holds '42', which is not a boolean")
        }
        XCTAssertThrowsError(try row.string("missing")) {
            XCTAssertEqual("\($0)", "the result has no column 'missing' (columns: name, n, ok, lsn, nothing)")
        }
        XCTAssertThrowsError(try QueryResult(columns: ["x"], rows: []).singleRow("pg_is_in_recovery()")) {
            XCTAssertEqual("\($0)", "pg_is_in_recovery() returned 0 rows where exactly one was expected")
        }
    }
}
