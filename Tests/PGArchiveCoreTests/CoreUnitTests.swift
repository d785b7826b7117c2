import Foundation
import Logging
@testable import PGArchiveCore
import Postgres
import XCTest

/// PGArchiveCore's pure logic, no servers: the configuration grammar and its errors, time
/// spans, names, the standby's generated settings, the root check, locks, the WAL archive
/// over a directory of fake files, and atomic writes (by topic in CoreUnitTests+*.swift).
final class CoreUnitTests: XCTestCase {
    // MARK: ConfigFile

    func testConfigFileParsesPostgresqlConfGrammar() throws {
        let text = #"""
            # pgarchive test
            upstream = 'host=/run/postgresql dbname=app'
            Standby_Port 5433
            expire_after = '30 days'   # keep a month
            dump_keep=3
            \#t
            wal_compression = lz4#no space before the comment
            note = 'it''s \'quoted\' \\ back\\slash'
            empty = ''
            escapes = 'a\nb\tc # not a comment'
            """#
        let entries = try ConfigFile.parse(text, file: "/srv/c/pgarchive.conf")
        XCTAssertEqual(entries, [
            ConfigEntry(key: "upstream", value: "host=/run/postgresql dbname=app", file: "/srv/c/pgarchive.conf", line: 2),
            ConfigEntry(key: "standby_port", value: "5433", file: "/srv/c/pgarchive.conf", line: 3),
            ConfigEntry(key: "expire_after", value: "30 days", file: "/srv/c/pgarchive.conf", line: 4),
            ConfigEntry(key: "dump_keep", value: "3", file: "/srv/c/pgarchive.conf", line: 5),
            ConfigEntry(key: "wal_compression", value: "lz4", file: "/srv/c/pgarchive.conf", line: 7),
            ConfigEntry(key: "note", value: #"it's 'quoted' \ back\slash"#, file: "/srv/c/pgarchive.conf", line: 8),
            ConfigEntry(key: "empty", value: "", file: "/srv/c/pgarchive.conf", line: 9),
            ConfigEntry(key: "escapes", value: "a\nb\tc # not a comment", file: "/srv/c/pgarchive.conf", line: 10),
        ])
        XCTAssertEqual(try ConfigFile.parse("", file: "f"), [])
        XCTAssertEqual(try ConfigFile.parse("\n\n# only comments\n   # indented\n", file: "f"), [])
    }

    func testConfigFileErrorsNameFileAndLine() {
        assertPGArchiveError(try ConfigFile.parse("# first\nk = 'abc", file: "/srv/c/pgarchive.conf"),
                             "/srv/c/pgarchive.conf:2: unterminated quoted string for 'k'")
        // \' is an escaped quote, so this string never ends either.
        assertPGArchiveError(try ConfigFile.parse(#"k = 'abc\'"#, file: "f.conf"),
                             "f.conf:1: unterminated quoted string for 'k'")
        assertPGArchiveError(try ConfigFile.parse("a = 1\n\nk = a b", file: "f.conf"),
                             "f.conf:3: unexpected text after the value of 'k': 'b' (quote values that contain spaces)")
        assertPGArchiveError(try ConfigFile.parse("k = 'a' b # c", file: "f.conf"),
                             "f.conf:1: unexpected text after the value of 'k': 'b # c' (quote values that contain spaces)")
        assertPGArchiveError(try ConfigFile.parse("k =", file: "f.conf"), "f.conf:1: setting 'k' has no value")
        assertPGArchiveError(try ConfigFile.parse("k = # nothing", file: "f.conf"), "f.conf:1: setting 'k' has no value")
        assertPGArchiveError(try ConfigFile.parse("k", file: "f.conf"), "f.conf:1: setting 'k' has no value")
        assertPGArchiveError(try ConfigFile.parse("= 5", file: "f.conf"), "f.conf:1: expected a setting name, found '= 5'")
        assertPGArchiveError(try ConfigFile.parse("k = it's", file: "f.conf"), "f.conf:1: stray quote in value of 'k'")
    }

    /// postgresql.conf accepts CRLF line ends (`\r` is white space in guc-file.l), and
    /// ConfigFile.parse treats `\r` as white space for that reason.
    func testConfigFileAcceptsCRLFLineEnds() throws {
        let entries = try ConfigFile.parse("# comment\r\nupstream = 'host=db'\r\ndump_keep = 3\r\n", file: "f.conf")
        XCTAssertEqual(entries, [
            ConfigEntry(key: "upstream", value: "host=db", file: "f.conf", line: 2),
            ConfigEntry(key: "dump_keep", value: "3", file: "f.conf", line: 3),
        ])
        XCTAssertEqual(try ConfigFile.parse("upstream = 'host=db'\r\ndump_keep = 3\r\n", file: "f.conf"), [
            ConfigEntry(key: "upstream", value: "host=db", file: "f.conf", line: 1),
            ConfigEntry(key: "dump_keep", value: "3", file: "f.conf", line: 2),
        ])
    }

    func testConfigFileQuoteParsesBack() throws {
        for value in ["", "plain", "it's", #"back\slash"#, #"\'"#, "''", "tab\there", "# hash", "ünïcödé ✓", "a\nb"] {
            let quoted = ConfigFile.quote(value)
            XCTAssertEqual(try ConfigFile.parse("k = \(quoted)", file: "f").first?.value, value, quoted)
        }
        XCTAssertEqual(ConfigFile.quote(#"it's a \ test"#), #"'it''s a \\ test'"#)
    }

    // MARK: ContainerConfig

    func testContainerConfigAppliesValues() throws {
        var config = ContainerConfig()
        try config.apply(ConfigFile.parse("""
            upstream = 'host=db user=archiver'
            slot = pgarchive_main
            upstream_version = 15
            standby_port = 5433
            expire_after = '2 weeks'
            thin_daily_after = 36h
            thin_hourly_after = '6 hours'
            wal_compression = none
            btrfs_compression = zlib
            dump_keep = 14
            snapshot_max_restartpoint_age = '90 min'
            clone_port_base = 6000
            standby_user = archive_admin
            system_identifier = 7301234567890123456
            """, file: "f"))
        XCTAssertEqual(config.upstream, "host=db user=archiver")
        XCTAssertEqual(config.effectiveUpstreamReplication, "host=db user=archiver")
        XCTAssertEqual(config.slot, "pgarchive_main")
        XCTAssertEqual(config.upstreamVersion, 15)
        XCTAssertEqual(config.standbyPort, 5433)
        XCTAssertEqual(config.expireAfter, TimeSpan(seconds: 14 * 86400))
        XCTAssertEqual(config.thinDailyAfter, TimeSpan(seconds: 36 * 3600))
        XCTAssertEqual(config.thinHourlyAfter, TimeSpan(seconds: 6 * 3600))
        XCTAssertEqual(config.walCompression, "none")
        XCTAssertEqual(config.btrfsCompression, "zlib")
        XCTAssertEqual(config.dumpKeep, 14)
        XCTAssertEqual(config.snapshotMaxRestartpointAge, TimeSpan(seconds: 5400))
        XCTAssertEqual(config.clonePortBase, 6000)
        XCTAssertEqual(config.standbyUser, "archive_admin")
        XCTAssertEqual(config.systemIdentifier, "7301234567890123456")

        try config.apply(ConfigFile.parse("upstream_replication = 'host=db2 replication=true'", file: "f"))
        XCTAssertEqual(config.effectiveUpstreamReplication, "host=db2 replication=true")
    }

    func testContainerConfigUnknownKeyListsKnownKeys() {
        var config = ContainerConfig()
        assertPGArchiveError(try config.apply(ConfigFile.parse("upstream = 'host=x'\nwal_compresion = zstd", file: "/srv/c/pgarchive.conf")),
                             "/srv/c/pgarchive.conf:2: unknown setting 'wal_compresion'; known settings: upstream, "
                                 + "upstream_replication, slot, pg_bindir, upstream_version, standby_port, expire_after, "
                                 + "thin_daily_after, wal_compression, btrfs_compression, dump_keep, dump_expire_after, dump_jobs, "
                                 + "snapshot_max_restartpoint_age, clone_port_base, maintenance_command, "
                                 + "watchdog_stuck_after, disk_warning, disk_critical, standby_user, system_identifier, synchronous, clone_listen_addresses, thin_time_zone, thin_hourly_after, verify_amcheck")
    }

    func testContainerConfigBadValuesNameFileAndLine() {
        let cases: [(String, String)] = [
            ("wal_compression = bzip2", "invalid value 'bzip2' for wal_compression: expected one of zstd, lz4, gzip, none"),
            ("btrfs_compression = lz4", "invalid value 'lz4' for btrfs_compression: expected one of zstd, lzo, zlib, none"),
            ("standby_port = 80", "invalid value '80' for standby_port: expected a whole number from 1024 to 65535"),
            ("standby_port = 5433x", "invalid value '5433x' for standby_port: expected a whole number from 1024 to 65535"),
            ("upstream_version = 9", "invalid value '9' for upstream_version: expected a whole number from 10 to 99"),
            ("dump_keep = 0", "invalid value '0' for dump_keep: expected a whole number from 1 to 100000"),
            ("expire_after = soon", "invalid value 'soon' for expire_after: expected a time span such as '30 days', '12 hours' or '45 min'"),
            ("thin_daily_after = '-1 day'", "invalid value '-1 day' for thin_daily_after: expected a time span such as '30 days', '12 hours' or '45 min'"),
            ("slot = Bad-Name", "invalid value 'Bad-Name' for slot: expected a slot name of lower-case letters, digits and underscores, at most 63 characters"),
            ("standby_user = ''", "invalid value '' for standby_user: expected a role name"),
            ("system_identifier = abc", "invalid value 'abc' for system_identifier: expected a number"),
            ("synchronous = maybe", "invalid value 'maybe' for synchronous: expected on or off"),
            ("thin_time_zone = 'Mars/Olympus'", "invalid value 'Mars/Olympus' for thin_time_zone: expected an IANA time zone name such as UTC or Europe/Berlin"),
            ("expire_after = '1\\n day'", "invalid value '1\\n day' for expire_after: expected a time span such as '30 days', '12 hours' or '45 min'"),
            ("upstream = 'dbname'", "invalid value for upstream: invalid connection string: missing \"=\" after \"dbname\" in connection info string"),
            ("upstream = 'host=db password=s3cret'", "upstream contains a password, which pgarchive refuses (it would show on command lines in ps); remove it and put the password into ~/.pgpass (mode 0600) of the user running pgarchive, or into the file named by PGPASSFILE, as host:port:database:user:password"),
            ("upstream_replication = 'postgresql://u:s3cret@db/app'", "upstream_replication contains a password, which pgarchive refuses (it would show on command lines in ps); remove it and put the password into ~/.pgpass (mode 0600) of the user running pgarchive, or into the file named by PGPASSFILE, as host:port:database:user:password"),
            ("clone_listen_addresses = 'localhost; rm'", "invalid value 'localhost; rm' for clone_listen_addresses: expected 'localhost', '' (socket only), '*' or a comma-separated list of host names and IP addresses"),
            ("clone_listen_addresses = 'a,,b'", "invalid value 'a,,b' for clone_listen_addresses: expected 'localhost', '' (socket only), '*' or a comma-separated list of host names and IP addresses"),
        ]
        for (line, message) in cases {
            var config = ContainerConfig()
            assertPGArchiveError(try config.apply(ConfigFile.parse("# settings\n\n" + line, file: "/srv/c/pgarchive.conf")),
                                 "/srv/c/pgarchive.conf:3: " + message)
        }
    }

    func testContainerConfigRenderedParsesBackEqual() throws {
        var config = ContainerConfig()
        config.upstream = "host=db.example.com port=5432 user=archiver application_name='pg archive' sslmode=verify-full"
        config.upstreamReplication = #"host=db2 options='-c search_path=it\'s'"#
        config.slot = "pgarchive_main"
        config.pgBindir = "/usr/lib/postgresql/15/bin"
        config.upstreamVersion = 15
        config.standbyPort = 5433
        config.expireAfter = TimeSpan(seconds: 14 * 86400)
        config.thinDailyAfter = TimeSpan(seconds: 36 * 3600)
        config.walCompression = "gzip"
        config.btrfsCompression = "lzo"
        config.dumpKeep = 14
        config.snapshotMaxRestartpointAge = TimeSpan(seconds: 7200)
        config.clonePortBase = 6000
        config.standbyUser = "archive admin"
        config.systemIdentifier = "7301234567890123456"
        config.synchronous = true
        config.thinTimeZone = "America/New_York"
        config.cloneListenAddresses = "127.0.0.1, ::1"

        let text = config.rendered()
        var parsed = ContainerConfig()
        try parsed.apply(ConfigFile.parse(text, file: "rendered"))
        XCTAssertEqual(parsed, config)

        let lines = text.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.first, "# pgarchive container settings (postgresql.conf syntax). See MANUAL.md.")
        for (name, help) in ContainerConfig.keys {
            XCTAssertEqual(lines.filter { $0.hasPrefix(name + " = ") }.count, 1, name)
            XCTAssertTrue(lines.contains("# " + help), name)
        }
        XCTAssertTrue(lines.contains("upstream = 'host=db.example.com port=5432 user=archiver application_name=''pg archive'' sslmode=verify-full'"))
        XCTAssertTrue(lines.contains(#"upstream_replication = 'host=db2 options=''-c search_path=it\\''s'''"#))
        XCTAssertTrue(lines.contains("expire_after = '2 weeks'"))
        XCTAssertTrue(lines.contains("thin_daily_after = '36 hours'"))
        XCTAssertTrue(lines.contains("snapshot_max_restartpoint_age = '2 hours'"))
        XCTAssertTrue(lines.contains("synchronous = 'on'"), text)
    }

    func testSynchronousAndTheReceiversApplicationName() throws {
        var config = ContainerConfig()
        try config.apply(ConfigFile.parse("upstream = 'host=db user=archiver'\nslot = pgarchive_main", file: "f"))
        XCTAssertFalse(config.synchronous)
        XCTAssertEqual(config.receiverApplicationName, "pgarchive_main")
        XCTAssertEqual(try config.receiverConninfo(), "user=archiver host=db application_name=pgarchive_main")
        for (value, expected) in [("on", true), ("off", false), ("true", true), ("OFF", false)] {
            try config.apply(ConfigFile.parse("synchronous = \(value)", file: "f"))
            XCTAssertEqual(config.synchronous, expected, value)
        }
        // The operator's own application_name wins, in status and in pg_receivewal's conninfo.
        try config.apply(ConfigFile.parse("upstream_replication = 'host=db2 application_name=archive1'", file: "f"))
        XCTAssertEqual(config.receiverApplicationName, "archive1")
        XCTAssertEqual(try config.receiverConninfo(), "host=db2 application_name=archive1")
        // The empty conninfo (libpq's defaults) gets the name too.
        config = ContainerConfig()
        config.slot = "pgarchive_x"
        XCTAssertEqual(try config.receiverConninfo(), "application_name=pgarchive_x")
    }

    func testContainerConfigLoadsGlobalThenContainerFile() throws {
        let dir = try makeTemporaryDirectory()
        let global = dir + "/global.conf"
        let container = dir + "/pgarchive.conf"
        try "upstream = 'host=global'\nexpire_after = '10 days'\ndump_keep = 5\n".write(toFile: global, atomically: true, encoding: .utf8)
        try "upstream = 'host=container'\nstandby_port = 5433\n".write(toFile: container, atomically: true, encoding: .utf8)

        let config = try ContainerConfig.load(containerFile: container, globalFile: global)
        XCTAssertEqual(config.upstream, "host=container")
        XCTAssertEqual(config.expireAfter, TimeSpan(seconds: 10 * 86400))
        XCTAssertEqual(config.dumpKeep, 5)
        XCTAssertEqual(config.standbyPort, 5433)
        XCTAssertEqual(config.walCompression, "zstd", "built-in default")

        // A missing global file is no error; nil means none.
        for globalFile in [dir + "/absent.conf", nil] {
            let alone = try ContainerConfig.load(containerFile: container, globalFile: globalFile)
            XCTAssertEqual(alone.upstream, "host=container")
            XCTAssertEqual(alone.expireAfter, TimeSpan(seconds: 30 * 86400))
            XCTAssertEqual(alone.dumpKeep, 7)
        }

        // A bad global line names the global file.
        try "upstream = 'host=global'\ndump_keep = many\n".write(toFile: global, atomically: true, encoding: .utf8)
        assertPGArchiveError(try ContainerConfig.load(containerFile: container, globalFile: global),
                             "\(global):2: invalid value 'many' for dump_keep: expected a whole number from 1 to 100000")

        XCTAssertThrowsError(try ContainerConfig.load(containerFile: dir + "/missing.conf", globalFile: nil)) { error in
            let message = (error as? PGArchiveError)?.message ?? "\(error)"
            XCTAssertTrue(message.hasPrefix("cannot read \(dir)/missing.conf: "), message)
        }
    }

    // MARK: Helpers

    func makeTemporaryDirectory() throws -> String {
        var template = Array((NSTemporaryDirectory() as NSString).appendingPathComponent("pgarchive-unit.XXXXXX").utf8CString)
        guard let created = mkdtemp(&template) else {
            throw PGArchiveError("mkdtemp failed: \(String(cString: strerror(errno)))")
        }
        let path = String(cString: created)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    func fileMode(_ path: String) throws -> mode_t {
        var st = stat()
        guard stat(path, &st) == 0 else { throw PGArchiveError("stat \(path): \(String(cString: strerror(errno)))") }
        return st.st_mode & 0o7777
    }

    func assertPGArchiveError<T>(_ expression: @autoclosure () throws -> T, _ message: String, exitCode: Int32 = 1,
                                         file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try expression(), file: file, line: line) { error in
            guard let error = error as? PGArchiveError else {
                return XCTFail("expected PGArchiveError, got \(type(of: error)): \(error)", file: file, line: line)
            }
            XCTAssertEqual(error.message, message, file: file, line: line)
            XCTAssertEqual(error.exitCode, exitCode, file: file, line: line)
        }
    }

    func assertFetch(_ archive: WALArchive, _ name: String, to destination: String, partialOK: Bool,
                             notFound: Bool = false, failed: String? = nil, file: StaticString = #filePath, line: UInt = #line) {
        do {
            let source = try archive.fetch(name, to: destination, partialOK: partialOK)
            XCTFail("fetch '\(name)' returned \(source)", file: file, line: line)
        } catch {
            switch error {
            case .notFound:
                XCTAssertTrue(notFound, "fetch '\(name)': not found, expected \(failed ?? "")", file: file, line: line)
            case .failed(let message):
                XCTAssertEqual(message, failed, "fetch '\(name)'", file: file, line: line)
            }
        }
    }
}
