import Foundation
@testable import PGArchiveCore
import Postgres
import XCTest

final class TablespaceTests: XCTestCase {
    let pg15 = PostgresBinaries(bindir: "/usr/lib/postgresql/15/bin", majorVersion: 15)

    func testBaseBackupMapsEachTablespaceIntoTheDataDirectory() throws {
        let tablespaces = [TablespaceRecord(oid: 16384, name: "fast", upstreamLocation: "/srv/ts=fast"),
                           TablespaceRecord(oid: 16390, name: "inplace", upstreamLocation: "pg_tblspc/16390")]
        var backup = PgBaseBackup(binaries: pg15, pgdata: "/c/standby", conninfo: "host=db", walMethod: .fetch)
        backup.tablespaceMappings = Tablespaces.mappings(tablespaces, dataDirectory: "/c/standby")
        XCTAssertEqual(try backup.command.arguments.suffix(1),
                       ["--tablespace-mapping=/srv/ts\\=fast=/c/standby/pgarchive_tablespaces/16384"])
        backup.tablespaceMappings = [.init(old: "relative", new: "/x")]
        XCTAssertThrowsError(try backup.command) { XCTAssertTrue("\($0)".contains("absolute paths")) }
    }

    func testPgWaldumpCreateRecordsAreParsed() {
        let output = """
            rmgr: Tablespace  len (rec/tot):     44/    44, tx:        735, lsn: 0/03000A28, prev 0/030009F0, desc: CREATE 16388 "/srv/ts one"
            rmgr: Tablespace  len (rec/tot):     30/    30, tx:        736, lsn: 0/03000B28, prev 0/03000A28, desc: DROP 16388
            """
        XCTAssertEqual(TablespaceGate.parse(output), [TablespaceCreation(lsn: LSN("0/03000A28")!, oid: 16388, location: "/srv/ts one")])
    }

    func testEntriesResolveInsideOrOutsideTheDataDirectory() throws {
        let root = NSTemporaryDirectory() + "ts-unit-\(getpid())"
        let fm = FileManager.default
        defer { try? fm.removeItem(atPath: root) }
        let data = root + "/data"
        try fm.createDirectory(atPath: data + "/pg_tblspc", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: data + "/pgarchive_tablespaces/1", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: data + "/pg_tblspc/3", withIntermediateDirectories: true) // in place
        try fm.createDirectory(atPath: root + "/outside", withIntermediateDirectories: true)
        XCTAssertEqual(symlink(data + "/pgarchive_tablespaces/1", data + "/pg_tblspc/1"), 0)
        XCTAssertEqual(symlink(root + "/outside", data + "/pg_tblspc/2"), 0)
        XCTAssertEqual(symlink("../../outside", data + "/pg_tblspc/4"), 0) // relative, but escapes
        XCTAssertEqual(symlink("../missing", data + "/pg_tblspc/5"), 0)
        XCTAssertThrowsError(try Tablespaces.adopt(dataDirectory: data, tablespaces: [])) { error in
            XCTAssertTrue("\(error)".contains("tablespace 2 of the new standby"), "\(error)")
        }
        XCTAssertEqual(try fm.destinationOfSymbolicLink(atPath: data + "/pg_tblspc/1"), "../pgarchive_tablespaces/1")
        let entries = Tablespaces.entries(dataDirectory: data)
        XCTAssertEqual(entries.map(\.oid), ["1", "2", "3", "4", "5"])
        XCTAssertEqual(entries.map(\.inside), [true, false, true, false, false])
        let problems = Tablespaces.problems(dataDirectory: data, what: "clone x")
        XCTAssertEqual(problems.count, 3)
        XCTAssertTrue(problems[0].contains("tablespace 2 of clone x") && problems[0].contains("outside \(data)"), problems[0])
        XCTAssertTrue(problems[2].contains("does not resolve to an existing directory"), problems[2])
    }
}

extension TablespaceTests {
    func status() -> ContainerStatus {
        var s = try! JSONDecoder().decode(ContainerStatus.self, from: Data("""
            {"container": "/c", "retired": false, "missingSegments": [],
             "receiver": {"state": "running", "pid": 10, "detail": "running (pid 10)"},
             "standby": {"state": "running", "pid": 11, "detail": "running (pid 11)"},
             "upstreamReachable": true, "slotActive": true, "schemaVersion": 1, "cronRuns": [], "snapshotCount": 0,
             "cloneCount": 0, "clonesRunning": 0, "walArchiveBytes": 0, "health": "ok", "problems": []}
            """.utf8))
        s.tablespaces = [TablespaceStatus(oid: "16384", name: "fast", path: "/c/standby/pgarchive_tablespaces/16384", sizeBytes: 2048, insideContainer: true),
                         TablespaceStatus(oid: "16390", name: "old", path: "/srv/old", sizeBytes: 0, insideContainer: false)]
        return s
    }

    func testStatusCheckAndMetricsShowEachTablespaceAndFlagOneOutside() {
        var s = status()
        s.evaluate()
        XCTAssertEqual(s.health, .degraded)
        XCTAssertTrue(s.problems.contains { $0.contains("tablespace old (16390) of the standby resolves to /srv/old, outside the container") }, "\(s.problems)")
        let text = s.rendered()
        XCTAssertTrue(text.contains("tablespace:       fast (oid 16384), 2.0 KiB, inside standby/"), text)
        XCTAssertTrue(text.contains("tablespace:       old (oid 16390), 0 B, OUTSIDE the container at /srv/old"), text)
        let result = HealthCheck.tablespaceResult(s)
        XCTAssertEqual(result.level, .critical)
        s.tablespaces = [s.tablespaces![0]]
        XCTAssertEqual(HealthCheck.tablespaceResult(s).level, .ok)
        XCTAssertTrue(HealthCheck.tablespaceResult(s).detail.contains("1 inside standby/: fast"), HealthCheck.tablespaceResult(s).detail)
        s.tablespaceRefusal = "the upstream created tablespace 16400 at /srv/new …: run `pgarchive container resync`"
        XCTAssertEqual(HealthCheck.tablespaceResult(s).level, .critical)
        let metrics = ContainerMetrics.render([.init(path: "/c", status: status())])
        XCTAssertTrue(metrics.contains(#"pgarchive_tablespace_bytes{container="/c",tablespace="fast",oid="16384"} 2048"#), metrics)
        XCTAssertTrue(metrics.contains(#"pgarchive_tablespace_inside_container{container="/c",tablespace="old",oid="16390"} 0"#), metrics)
    }

    func testGlobalsGetTheUpstreamLocationBack() throws {
        let path = NSTemporaryDirectory() + "globals-\(getpid()).sql"
        defer { unlink(path) }
        try "CREATE TABLESPACE fast OWNER postgres LOCATION '../pgarchive_tablespaces/16384';\n".write(toFile: path, atomically: true, encoding: .utf8)
        try Tablespaces.restoreUpstreamLocations(globals: path, [TablespaceRecord(oid: 16384, name: "fast", upstreamLocation: "/srv/it's")])
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "CREATE TABLESPACE fast OWNER postgres LOCATION '/srv/it''s';\n")
    }

    func testTablespaceMapArgumentsAreCheckedBeforeAnythingIsWritten() throws {
        XCTAssertEqual(try TablespaceRestoreMap(arguments: ["fast=/srv/fast/"]).directories, ["fast": "/srv/fast"])
        for (argument, message) in [(["fast"], "use NAME=DIR"), (["=/x"], "use NAME=DIR"), (["fast=x"], "absolute path"),
                                    (["fast=/a", "fast=/b"], "names tablespace 'fast' twice"), (["a=/x", "b=/x"], "gives /x to two tablespaces")] {
            XCTAssertThrowsError(try TablespaceRestoreMap(arguments: argument)) { XCTAssertTrue("\($0)".contains(message), "\(argument): \($0)") }
        }
    }
}
