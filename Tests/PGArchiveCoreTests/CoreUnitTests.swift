import Foundation
import Logging
@testable import PGArchiveCore
import Postgres
import XCTest

/// PGArchiveCore's pure logic, no servers: the configuration grammar and its errors, time
/// spans, names, the standby's generated settings, the root check, locks, the WAL archive
/// over a directory of fake files, and atomic writes.
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
                                 + "watchdog_stuck_after, disk_warning, disk_critical, standby_user, system_identifier, synchronous, clone_listen_addresses, thin_time_zone, verify_amcheck")
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

    // MARK: TimeSpan, ByteCount

    func testTimeSpanParsing() {
        let good: [(String, Int64)] = [
            ("30 days", 30 * 86400), ("12h", 12 * 3600), ("90 min", 5400), ("1 week", 7 * 86400), ("45s", 45),
            ("2 weeks", 14 * 86400), ("1d", 86400), ("3 hours", 3 * 3600), ("5 minutes", 300), ("10m", 600),
            ("1 second", 1), ("  7 DAYS ", 7 * 86400), ("0 s", 0),
        ]
        for (text, seconds) in good {
            XCTAssertEqual(TimeSpan(parsing: text)?.seconds, seconds, text)
        }
        for bad in ["", "days", "-1 day", "ten days", "30", "1.5 hours", "30 days ago", "5 fortnights", "99999999999999999999 s",
                    "9223372036854775807 weeks"] {
            XCTAssertNil(TimeSpan(parsing: bad), bad)
        }
    }

    func testTimeSpanDescription() {
        XCTAssertEqual(TimeSpan(seconds: 30 * 86400).description, "30 days")
        XCTAssertEqual(TimeSpan(seconds: 86400).description, "1 day")
        XCTAssertEqual(TimeSpan(seconds: 14 * 86400).description, "2 weeks")
        XCTAssertEqual(TimeSpan(seconds: 7 * 86400).description, "1 week")
        XCTAssertEqual(TimeSpan(seconds: 3600).description, "1 hour")
        XCTAssertEqual(TimeSpan(seconds: 36 * 3600).description, "36 hours")
        XCTAssertEqual(TimeSpan(seconds: 45).description, "45 seconds")
        XCTAssertEqual(TimeSpan(seconds: 1).description, "1 second")
        XCTAssertEqual(TimeSpan(seconds: 0).description, "0 seconds")
        XCTAssertEqual(TimeSpan(seconds: 90).description, "90 seconds")
        XCTAssertEqual(TimeSpan(seconds: 5400).description, "90 minutes")
        XCTAssertEqual(TimeSpan(seconds: 60).description, "1 minute")
    }

    /// `rendered()` writes spans with `description`, so every description must parse back.
    func testTimeSpanDescriptionParsesBack() {
        for seconds: Int64 in [0, 1, 45, 60, 120, 5400, 3600, 36 * 3600, 86400, 30 * 86400, 7 * 86400, 14 * 86400, 86401] {
            let span = TimeSpan(seconds: seconds)
            XCTAssertEqual(TimeSpan(parsing: span.description), span, "'\(span.description)'")
        }
    }

    func testByteCountHuman() {
        XCTAssertEqual(ByteCount.human(0), "0 B")
        XCTAssertEqual(ByteCount.human(1023), "1023 B")
        XCTAssertEqual(ByteCount.human(1024), "1.0 KiB")
        XCTAssertEqual(ByteCount.human(1536), "1.5 KiB")
        XCTAssertEqual(ByteCount.human(16 << 20), "16.0 MiB")
        XCTAssertEqual(ByteCount.human(3 << 29), "1.5 GiB")
        XCTAssertEqual(ByteCount.human(5 << 40), "5.0 TiB")
        XCTAssertEqual(ByteCount.human(2048 << 50), "2048.0 PiB")
        XCTAssertEqual(ByteCount.human(-2048), "-2.0 KiB")
    }

    // MARK: Names

    func testObjectNameRefusesUnsafeNames() {
        assertPGArchiveError(try ObjectName.validate("", kind: "snapshot"), "snapshot name must not be empty")
        assertPGArchiveError(try ObjectName.validate("a/b", kind: "clone"), "invalid clone name 'a/b': it must not contain '/'")
        assertPGArchiveError(try ObjectName.validate("../etc", kind: "clone"), "invalid clone name '../etc': it must not contain '/'")
        assertPGArchiveError(try ObjectName.validate("..", kind: "snapshot"),
                             "invalid snapshot name '..': it must not start with '.' (and '..' is never allowed)")
        assertPGArchiveError(try ObjectName.validate(".", kind: "snapshot"),
                             "invalid snapshot name '.': it must not start with '.' (and '..' is never allowed)")
        assertPGArchiveError(try ObjectName.validate(".hidden", kind: "clone"),
                             "invalid clone name '.hidden': it must not start with '.' (and '..' is never allowed)")
        assertPGArchiveError(try ObjectName.validate("my clone", kind: "clone"),
                             "invalid clone name 'my clone': use letters, digits and - _ . : + only")
        assertPGArchiveError(try ObjectName.validate("a\nb", kind: "clone"),
                             "invalid clone name 'a\\nb': use letters, digits and - _ . : + only")
        for bad in ["tab\tname", "café", "x;rm", "a*", "a\u{0}b", "$(id)"] {
            XCTAssertThrowsError(try ObjectName.validate(bad, kind: "clone"), bad)
        }
        assertPGArchiveError(try ObjectName.validate(String(repeating: "a", count: 201), kind: "clone"),
                             "invalid clone name: longer than 200 characters")
    }

    func testObjectNameAcceptsSafeNames() {
        for good in ["2026-11-21T08:15:00Z", "restore_1", "before+migration", "a.b", "a..b", String(repeating: "a", count: 200)] {
            XCTAssertNoThrow(try ObjectName.validate(good, kind: "snapshot"), good)
        }
    }

    func testReplicationSlotNames() {
        for good in ["pgarchive_main", "a", "0_9", String(repeating: "x", count: 63)] {
            XCTAssertTrue(ReplicationSlotName.isValid(good), good)
        }
        for bad in ["", "Bad-Name", "UPPER", "with space", "dash-ed", "dot.ted", "ä", String(repeating: "x", count: 64)] {
            XCTAssertFalse(ReplicationSlotName.isValid(bad), bad)
        }
        XCTAssertEqual(ReplicationSlotName.defaultName(containerDirectory: "/srv/My-Cluster.1"), "pgarchive_my_cluster_1")
        XCTAssertEqual(ReplicationSlotName.defaultName(containerDirectory: "/srv/archive/"), "pgarchive_archive")
        XCTAssertEqual(ReplicationSlotName.defaultName(containerDirectory: "relative dir"), "pgarchive_relative_dir")
        let long = ReplicationSlotName.defaultName(containerDirectory: "/srv/" + String(repeating: "A", count: 100))
        XCTAssertEqual(long, "pgarchive_" + String(repeating: "a", count: 53))
        XCTAssertTrue(ReplicationSlotName.isValid(long))
    }

    func testContainerLayoutPaths() {
        let layout = ContainerLayout(root: "/srv/archive/../main/")
        XCTAssertEqual(layout.root, "/srv/main")
        XCTAssertEqual(layout.name, "main")
        XCTAssertEqual(layout.configFile, "/srv/main/pgarchive.conf")
        XCTAssertEqual(layout.snapshot("2026-11-21T08:15:00Z"), "/srv/main/snapshots/2026-11-21T08:15:00Z")
        XCTAssertEqual(layout.clone("restore_1"), "/srv/main/clones/restore_1")
        XCTAssertEqual(layout.standbySocketDirectory, "/srv/main/run")
        XCTAssertEqual(layout.subvolumes, ["/srv/main/wal_archive", "/srv/main/standby", "/srv/main/dumps"])
        XCTAssertEqual(layout.plainDirectories, ["/srv/main/snapshots", "/srv/main/clones", "/srv/main/logs", "/srv/main/run"])
        XCTAssertEqual(ContainerLayout(root: "rel").root, (FileManager.default.currentDirectoryPath as NSString).appendingPathComponent("rel"))
    }

    // MARK: ServerConfiguration

    func testRestoreCommandQuotesForTheShell() {
        let executable = "/opt/pg archive/pgarchive"
        let container = "/srv/bob's archive"
        XCTAssertEqual(ServerConfiguration.restoreCommand(pgarchiveExecutable: executable, container: container, partialOK: false),
                       #"'/opt/pg archive/pgarchive' wal fetch -C '/srv/bob'\''s archive' %f %p"#)
        XCTAssertEqual(ServerConfiguration.restoreCommand(pgarchiveExecutable: executable, container: container, partialOK: true),
                       #"'/opt/pg archive/pgarchive' wal fetch -C '/srv/bob'\''s archive' --partial-ok %f %p"#)
        XCTAssertEqual(ServerConfiguration.shellQuote("it's"), #"'it'\''s'"#)
        XCTAssertEqual(ServerConfiguration.shellQuote(""), "''")
    }

    /// The quoting survives a real /bin/sh, the shell PostgreSQL runs restore_command with.
    func testShellQuoteThroughBinSh() throws {
        let words = ["/srv/bob's archive", "$HOME", "`id`", "a b\tc", "", #"back\slash"#, "''", "new\nline", "%f", "!x;rm -rf /"]
        let script = "printf '%s\\0' " + words.map(ServerConfiguration.shellQuote).joined(separator: " ")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", script]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        XCTAssertEqual(output.split(separator: 0, omittingEmptySubsequences: false).dropLast().map { String(decoding: $0, as: UTF8.self) },
                       words)
    }

    func testServerConfigurationRendered() throws {
        let command = ServerConfiguration.restoreCommand(pgarchiveExecutable: "/opt/pg archive/pgarchive",
                                                         container: "/srv/bob's archive", partialOK: false)
        var server = ServerConfiguration(port: 5433, socketDirectory: "/srv/bob's archive/run", restoreCommand: command,
                                         upstreamSettings: ["max_worker_processes": "8", "max_connections": "200"])
        server.extra = [("recovery_target_name", "before 'migration'")]
        let text = server.rendered()
        XCTAssertTrue(text.hasSuffix("\n"))
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
        XCTAssertEqual(lines, [
            "# Written by pgarchive; it is rewritten on every start, edit pgarchive.conf instead.",
            "port = 5433",
            "listen_addresses = ''",
            "unix_socket_directories = '/srv/bob''s archive/run'",
            "unix_socket_permissions = 0700",
            "hot_standby = on",
            #"restore_command = '''/opt/pg archive/pgarchive'' wal fetch -C ''/srv/bob''\\''''s archive'' %f %p'"#,
            "wal_retrieve_retry_interval = '1s'",
            "archive_mode = off",
            "logging_collector = off",
            "log_line_prefix = '%m [%p] '",
            "log_checkpoints = on",
            "max_connections = '200'",
            "max_worker_processes = '8'",
            "recovery_target_name = 'before ''migration'''",
        ])
        // Read back with the same grammar PostgreSQL uses, the values are the originals.
        let values = Dictionary(try ConfigFile.parse(text, file: "postgresql.conf").map { ($0.key, $0.value) }, uniquingKeysWith: { $1 })
        XCTAssertEqual(values["restore_command"], command)
        XCTAssertEqual(values["unix_socket_directories"], "/srv/bob's archive/run")
        XCTAssertEqual(values["listen_addresses"], "")
        XCTAssertEqual(values["recovery_target_name"], "before 'migration'")
    }

    // MARK: RootCheck

    func testRootCheckRefusesRoot() {
        assertPGArchiveError(try RootCheck.refuse(effectiveUID: 0),
                             "pgarchive must not run as root; run it as the service user that owns the container, e.g. "
                                 + "`runuser -u postgres -- pgarchive …` or `sudo -u postgres pgarchive …`")
        XCTAssertThrowsError(try RootCheck.refuse(effectiveUID: 0, serviceUser: "archiver")) { error in
            XCTAssertTrue("\(error)".contains("`runuser -u archiver -- pgarchive …`"), "\(error)")
        }
        XCTAssertNoThrow(try RootCheck.refuse(effectiveUID: 1000))
        XCTAssertNoThrow(try RootCheck.refuse(effectiveUID: 999, serviceUser: "archiver"))
    }

    // MARK: ContainerLock

    func testContainerLockRefusesSecondHolderAndNamesTheFirst() throws {
        let run = try makeTemporaryDirectory()
        var first: ContainerLock? = try ContainerLock.acquire(.snapshots, in: run, command: "snapshot create", wait: false)
        XCTAssertEqual(first?.path, run + "/snapshots.lock")
        XCTAssertEqual(try String(contentsOfFile: run + "/snapshots.lock", encoding: .utf8), "\(getpid()) snapshot create\n")
        XCTAssertEqual(try fileMode(run + "/snapshots.lock"), 0o600)

        // flock belongs to the open file description: a second open in this process conflicts.
        XCTAssertThrowsError(try ContainerLock.acquire(.snapshots, in: run, command: "clone create x", wait: false)) { error in
            let error = error as! PGArchiveError
            XCTAssertEqual(error.exitCode, 75)
            XCTAssertEqual(error.message, "another pgarchive (pid \(getpid()), running `pgarchive snapshot create`) is working "
                + "on this container (snapshots lock); try again later")
        }
        // The failed attempt did not overwrite the holder's record.
        XCTAssertEqual(try String(contentsOfFile: run + "/snapshots.lock", encoding: .utf8), "\(getpid()) snapshot create\n")

        // Other kinds are independent.
        let container = try ContainerLock.acquire(.container, in: run, command: "start", wait: false)
        let dumps = try ContainerLock.acquire(.dumps, in: run, command: "dump run", wait: false)
        withExtendedLifetime((container, dumps)) {}

        withExtendedLifetime(first) {}
        first = nil
        let second = try ContainerLock.acquire(.snapshots, in: run, command: "clone create x", wait: false)
        XCTAssertEqual(try String(contentsOfFile: run + "/snapshots.lock", encoding: .utf8), "\(getpid()) clone create x\n")
        withExtendedLifetime(second) {}
    }

    func testContainerLockWaitsForTheHolder() throws {
        let run = try makeTemporaryDirectory()
        var holder: ContainerLock? = try ContainerLock.acquire(.container, in: run, command: "container stop", wait: false)
        let waiter = LockWaiter()
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            do {
                let lock = try ContainerLock.acquire(.container, in: run, command: "container start", wait: true,
                                                     onWait: { waiter.record(message: $0) })
                waiter.record(acquired: true)
                withExtendedLifetime(lock) {}
            } catch {
                waiter.record(message: "error: \(error)")
            }
            done.signal()
        }
        XCTAssertTrue(waiter.waitForMessage(timeout: 10))
        usleep(200_000)
        XCTAssertEqual(waiter.message, "waiting for another pgarchive (pid \(getpid()), running `pgarchive container stop`) "
            + "to finish (container lock)")
        XCTAssertFalse(waiter.acquired, "must block while the lock is held")

        withExtendedLifetime(holder) {}
        holder = nil
        XCTAssertEqual(done.wait(timeout: .now() + 10), .success)
        XCTAssertTrue(waiter.acquired)
        XCTAssertEqual(try String(contentsOfFile: run + "/container.lock", encoding: .utf8), "\(getpid()) container start\n")
    }

    func testContainerLockErrors() throws {
        assertPGArchiveError(try ContainerLock.acquire(.container, in: "/nonexistent-pgarchive-run", command: "x", wait: false),
                             "cannot open lock file /nonexistent-pgarchive-run/container.lock: No such file or directory")
        let run = try makeTemporaryDirectory()
        try "".write(toFile: run + "/empty.lock", atomically: true, encoding: .utf8)
        XCTAssertEqual(ContainerLock.describeHolder(run + "/empty.lock"), "(unknown pid)")
        XCTAssertEqual(ContainerLock.describeHolder(run + "/absent.lock"), "(unknown pid)")
        try "4242\n".write(toFile: run + "/pid-only.lock", atomically: true, encoding: .utf8)
        XCTAssertEqual(ContainerLock.describeHolder(run + "/pid-only.lock"), "(pid 4242)")
    }

    // MARK: WALArchive

    /// tl 1 segments 1, 2, 4 (compressed), 5, 6 (partial), timeline 2's history file, stray files.
    private func makeArchive() throws -> (WALArchive, String) {
        let dir = try makeTemporaryDirectory()
        for name in ["000000010000000000000005", "000000010000000000000001", "000000010000000000000006.partial",
                     "00000002.history", "000000010000000000000004.zst", "000000010000000000000002",
                     "README", ".000000010000000000000007.tmp", "00000001000000000000000a", "000000010000000000000002.backup"] {
            try Data("contents of \(name)\n".utf8).write(to: URL(fileURLWithPath: dir + "/" + name))
        }
        return (WALArchive(directory: dir), dir)
    }

    func testWALArchiveEntriesOrder() throws {
        let (archive, dir) = try makeArchive()
        let entries = try archive.entries()
        XCTAssertEqual(entries.map(\.name.fileName), [
            "00000002.history",
            "000000010000000000000001",
            "000000010000000000000002",
            "000000010000000000000004.zst",
            "000000010000000000000005",
            "000000010000000000000006.partial",
        ])
        XCTAssertEqual(entries.first?.path, dir + "/00000002.history")
        XCTAssertEqual(entries.first?.size, Int64("contents of 00000002.history\n".utf8.count))
        XCTAssertEqual(try archive.newestSegment()?.name.fileName, "000000010000000000000006.partial")

        // Same segment: complete before partial; same position: lower timeline first.
        for name in ["000000010000000000000006", "000000020000000000000005", "00000001.history"] {
            try Data(name.utf8).write(to: URL(fileURLWithPath: dir + "/" + name))
        }
        XCTAssertEqual(try archive.entries().map(\.name.fileName), [
            "00000001.history",
            "00000002.history",
            "000000010000000000000001",
            "000000010000000000000002",
            "000000010000000000000004.zst",
            "000000010000000000000005",
            "000000020000000000000005",
            "000000010000000000000006",
            "000000010000000000000006.partial",
        ])
    }

    func testWALArchiveEntriesIncludeRetiredOnRequest() throws {
        let (archive, dir) = try makeArchive()
        try FileManager.default.createDirectory(atPath: dir + "/before-resync-2026-01-02T00:00:00Z", withIntermediateDirectories: false)
        try FileManager.default.createDirectory(atPath: dir + "/before-resync-2026-01-01T00:00:00Z", withIntermediateDirectories: false)
        try Data("old".utf8).write(to: URL(fileURLWithPath: dir + "/before-resync-2026-01-01T00:00:00Z/000000010000000000000000"))
        XCTAssertEqual(archive.retiredDirectories(), [dir + "/before-resync-2026-01-02T00:00:00Z", dir + "/before-resync-2026-01-01T00:00:00Z"])
        XCTAssertFalse(try archive.entries().contains { $0.name.fileName == "000000010000000000000000" })
        let all = try archive.entries(includeRetired: true)
        XCTAssertEqual(all.count, 7)
        XCTAssertEqual(all[1].path, dir + "/before-resync-2026-01-01T00:00:00Z/000000010000000000000000")
    }

    func testWALArchiveMissingSegments() throws {
        let (archive, dir) = try makeArchive()
        XCTAssertEqual(try archive.missingSegments().map(\.fileName), ["000000010000000000000003"])

        try Data().write(to: URL(fileURLWithPath: dir + "/000000010000000000000003.lz4"))
        XCTAssertEqual(try archive.missingSegments(), [], "a compressed segment counts")

        // Each timeline separately; the hole spans a log id boundary (…00FF → …0100 → …0101).
        for name in ["0000000200000000000000FE", "000000020000000100000001.partial"] {
            try Data().write(to: URL(fileURLWithPath: dir + "/" + name))
        }
        XCTAssertEqual(try archive.missingSegments().map(\.fileName), ["0000000200000000000000FF", "000000020000000100000000"])

        XCTAssertThrowsError(try WALArchive(directory: dir + "/absent").missingSegments()) { error in
            XCTAssertTrue("\(error)".hasPrefix("cannot list \(dir)/absent: "), "\(error)")
        }
        XCTAssertEqual(try WALArchive(directory: try makeTemporaryDirectory()).missingSegments(), [])
    }

    func testWALArchiveFetchCopiesCompleteSegmentsAndHistoryFiles() throws {
        let (archive, dir) = try makeArchive()
        let out = try makeTemporaryDirectory()
        // PostgreSQL may hand a path that already exists: it is replaced, not appended to.
        try Data(repeating: 0x41, count: 4096).write(to: URL(fileURLWithPath: out + "/RECOVERYXLOG"))
        let source = try archive.fetch("000000010000000000000002", to: out + "/RECOVERYXLOG", partialOK: false)
        XCTAssertEqual(source, dir + "/000000010000000000000002")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: out + "/RECOVERYXLOG")),
                       try Data(contentsOf: URL(fileURLWithPath: dir + "/000000010000000000000002")))

        XCTAssertEqual(try archive.fetch("00000002.history", to: out + "/RECOVERYHISTORY", partialOK: false), dir + "/00000002.history")
        XCTAssertEqual(try String(contentsOfFile: out + "/RECOVERYHISTORY", encoding: .utf8), "contents of 00000002.history\n")
        XCTAssertEqual(try fileMode(out + "/RECOVERYHISTORY"), 0o600)
    }

    /// A `.partial` cut short while pg_receivewal preallocated it (zeros) is removed before
    /// the next start; one with data in it is kept aside; whole and empty ones stay.
    func testTornPartialsAreSetAsideBeforePgReceiveWALStarts() throws {
        let root = try makeTemporaryDirectory()
        let layout = ContainerLayout(root: root)
        try FileManager.default.createDirectory(atPath: layout.walArchive, withIntermediateDirectories: true)
        let segment = 1 << 20
        func write(_ name: String, _ bytes: [UInt8]) {
            XCTAssertTrue(FileManager.default.createFile(atPath: layout.walArchive + "/" + name, contents: Data(bytes)))
        }
        write("000000010000000000000001", [UInt8](repeating: 7, count: segment))  // tells the segment size
        write("000000010000000000000002.partial", [UInt8](repeating: 0, count: 122_880))
        var withData = [UInt8](repeating: 0, count: 8192)
        withData[100] = 1
        write("000000020000000000000002.partial", withData)
        write("000000030000000000000002.partial", [UInt8](repeating: 5, count: segment))
        write("000000040000000000000002.partial", [])
        let receiver = WALReceiver(layout: layout, config: ContainerConfig())
        receiver.setTornPartialsAside(logger: Logger(label: "test"))
        let names = try FileManager.default.contentsOfDirectory(atPath: layout.walArchive).sorted()
        XCTAssertFalse(names.contains("000000010000000000000002.partial"), "\(names)")
        XCTAssertFalse(names.contains("000000020000000000000002.partial"), "\(names)")
        XCTAssertEqual(names.filter { $0.hasPrefix("000000020000000000000002.partial.torn-") }.count, 1, "\(names)")
        XCTAssertTrue(names.contains("000000030000000000000002.partial"))
        XCTAssertTrue(names.contains("000000040000000000000002.partial"))
        XCTAssertTrue(names.contains("000000010000000000000001"))
        XCTAssertEqual(names.count, 4, "\(names)")
    }

    func testWALArchiveFetchNotFound() throws {
        let (archive, _) = try makeArchive()
        let out = try makeTemporaryDirectory()
        assertFetch(archive, "000000010000000000000003", to: out + "/x", partialOK: false, notFound: true)
        assertFetch(archive, "000000010000000000000003", to: out + "/x", partialOK: true, notFound: true)
        assertFetch(archive, "00000003.history", to: out + "/x", partialOK: true, notFound: true)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/x"))
    }

    func testWALArchiveFetchServesPartialOnlyWhenAllowed() throws {
        let (archive, dir) = try makeArchive()
        let out = try makeTemporaryDirectory()
        assertFetch(archive, "000000010000000000000006", to: out + "/seg", partialOK: false, notFound: true)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/seg"))

        let source = try archive.fetch("000000010000000000000006", to: out + "/seg", partialOK: true)
        XCTAssertEqual(source, dir + "/000000010000000000000006.partial")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: out + "/seg")),
                       try Data(contentsOf: URL(fileURLWithPath: dir + "/000000010000000000000006.partial")))

        // A partial is never offered for a history file.
        try Data().write(to: URL(fileURLWithPath: dir + "/00000003.history.partial"))
        assertFetch(archive, "00000003.history", to: out + "/h", partialOK: true, notFound: true)

        // The complete segment wins over the partial one.
        try Data("complete".utf8).write(to: URL(fileURLWithPath: dir + "/000000010000000000000006"))
        XCTAssertEqual(try archive.fetch("000000010000000000000006", to: out + "/seg", partialOK: true),
                       dir + "/000000010000000000000006")
        XCTAssertEqual(try String(contentsOfFile: out + "/seg", encoding: .utf8), "complete")
    }

    func testWALArchiveFetchRefusesBadNames() throws {
        let (archive, _) = try makeArchive()
        let out = try makeTemporaryDirectory()
        for name in ["../etc/passwd", "000000010000000000000006.partial", "000000010000000000000004.zst",
                     "00000001000000000000000a", "/tmp/000000010000000000000002", "../000000010000000000000002",
                     "000000010000000000000002/", "", "README", "000000010000000000000002.backup", "00000001.history.partial"] {
            assertFetch(archive, name, to: out + "/x", partialOK: true,
                        failed: "'\(name)' is not a WAL segment or timeline history file name")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/x"))
    }

    func testWALArchiveFetchFindsRetiredSegments() throws {
        let (archive, dir) = try makeArchive()
        let retired = dir + "/before-resync-2026-01-01T00:00:00Z"
        try FileManager.default.createDirectory(atPath: retired, withIntermediateDirectories: false)
        try Data("old segment".utf8).write(to: URL(fileURLWithPath: retired + "/000000010000000000000000"))
        let out = try makeTemporaryDirectory()
        XCTAssertEqual(try archive.fetch("000000010000000000000000", to: out + "/seg", partialOK: false),
                       retired + "/000000010000000000000000")
        XCTAssertEqual(try String(contentsOfFile: out + "/seg", encoding: .utf8), "old segment")
    }

    func testWALArchiveFetchReportsCorruptCompressedSegment() throws {
        // The fixture's .zst is plain text: fetch must refuse it, never hand it to PostgreSQL.
        let (archive, dir) = try makeArchive()
        let out = try makeTemporaryDirectory()
        assertFetch(archive, "000000010000000000000004", to: out + "/seg", partialOK: false,
                    failed: "\(dir)/000000010000000000000004.zst is corrupt: not a zstd frame (Unknown frame descriptor)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/seg"))
    }

    func testWALArchiveFetchIOErrorIsFailure() throws {
        let (archive, dir) = try makeArchive()
        assertFetch(archive, "000000010000000000000002", to: dir + "/no-such-dir/seg", partialOK: false,
                    failed: "cannot create \(dir)/no-such-dir/seg: No such file or directory")
    }

    func testFileCopy() throws {
        let dir = try makeTemporaryDirectory()
        var bytes = [UInt8](repeating: 0, count: (1 << 20) * 3 + 17)
        for i in bytes.indices { bytes[i] = UInt8(truncatingIfNeeded: i &* 31 &+ i >> 8) }
        try Data(bytes).write(to: URL(fileURLWithPath: dir + "/big"))
        try FileCopy.clone(from: dir + "/big", to: dir + "/copy")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: dir + "/copy")), Data(bytes))
        XCTAssertEqual(try fileMode(dir + "/copy"), 0o600)

        try Data().write(to: URL(fileURLWithPath: dir + "/empty"))
        try FileCopy.clone(from: dir + "/empty", to: dir + "/copy")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: dir + "/copy")), Data())

        assertPGArchiveError(try FileCopy.clone(from: dir + "/absent", to: dir + "/copy2"),
                             "cannot open \(dir)/absent: No such file or directory")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/copy2"))
    }

    // MARK: Processes

    func testDaemonState() {
        XCTAssertEqual(DaemonState.running(pid: 42).description, "running (pid 42)")
        XCTAssertEqual(DaemonState.stopped.description, "stopped")
        XCTAssertEqual(DaemonState.stalePIDFile(pid: 42).description, "stopped (stale pid file: pid 42 is gone)")
        XCTAssertTrue(DaemonState.running(pid: 42).isRunning)
        XCTAssertFalse(DaemonState.stopped.isRunning)
        XCTAssertFalse(DaemonState.stalePIDFile(pid: 42).isRunning)
        XCTAssertEqual(DaemonState.running(pid: 42).pid, 42)
        XCTAssertEqual(DaemonState.stalePIDFile(pid: 43).pid, 43)
        XCTAssertNil(DaemonState.stopped.pid)
    }

    func testDaemonStateFromPIDFile() throws {
        let dir = try makeTemporaryDirectory()
        let pidFile = dir + "/daemon.pid"
        XCTAssertEqual(Processes.state(pidFile: pidFile, matches: { _ in true }), .stopped)

        try " \(getpid()) \n/srv/c/standby\n".write(toFile: pidFile, atomically: true, encoding: .utf8)
        XCTAssertEqual(Processes.readPIDFile(pidFile), getpid())
        XCTAssertEqual(Processes.state(pidFile: pidFile, matches: { _ in true }), .running(pid: getpid()))
        // A live pid running some other program is a stale pid file (pid reuse).
        XCTAssertEqual(Processes.state(pidFile: pidFile, matches: { $0.first == "/usr/bin/pg_receivewal" }), .stalePIDFile(pid: getpid()))

        // pid_max is at most 2^22 on Linux: this pid cannot exist.
        try "99999999\n".write(toFile: pidFile, atomically: true, encoding: .utf8)
        XCTAssertEqual(Processes.state(pidFile: pidFile, matches: { _ in true }), .stalePIDFile(pid: 99_999_999))

        try "not a pid\n".write(toFile: pidFile, atomically: true, encoding: .utf8)
        XCTAssertEqual(Processes.state(pidFile: pidFile, matches: { _ in true }), .stopped)
        XCTAssertNil(Processes.readPIDFile(pidFile))
        XCTAssertFalse(Processes.isAlive(0))
        XCTAssertFalse(Processes.isAlive(-1))
        XCTAssertTrue(Processes.isAlive(getpid()))
        XCTAssertNotNil(Processes.commandLine(of: getpid()))
    }

    // MARK: AtomicFile

    func testAtomicFileWriteLeavesNoTempFileAndSetsMode() throws {
        let dir = try makeTemporaryDirectory()
        let path = dir + "/pgarchive.conf"
        try AtomicFile.write("first\n", to: path)
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "first\n")
        XCTAssertEqual(try fileMode(path), 0o600)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["pgarchive.conf"])

        // Replacing a world-readable file gives the new mode, not the old one.
        XCTAssertEqual(chmod(path, 0o644), 0)
        try AtomicFile.write(Data("second\n".utf8), to: path)
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "second\n")
        XCTAssertEqual(try fileMode(path), 0o600)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["pgarchive.conf"])

        // The mode is given to open(2), so the umask applies.
        let mask = umask(0)
        umask(mask)
        try AtomicFile.write("", to: dir + "/empty", mode: 0o640)
        XCTAssertEqual(try fileMode(dir + "/empty"), 0o640 & ~mask)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).sorted(), ["empty", "pgarchive.conf"])

        assertPGArchiveError(try AtomicFile.write("x", to: dir + "/absent/file"),
                             "cannot write \(dir)/absent/.file.tmp.\(getpid()): No such file or directory")
    }

    // MARK: Helpers

    private func makeTemporaryDirectory() throws -> String {
        var template = Array((NSTemporaryDirectory() as NSString).appendingPathComponent("pgarchive-unit.XXXXXX").utf8CString)
        guard let created = mkdtemp(&template) else {
            throw PGArchiveError("mkdtemp failed: \(String(cString: strerror(errno)))")
        }
        let path = String(cString: created)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    private func fileMode(_ path: String) throws -> mode_t {
        var st = stat()
        guard stat(path, &st) == 0 else { throw PGArchiveError("stat \(path): \(String(cString: strerror(errno)))") }
        return st.st_mode & 0o7777
    }

    private func assertPGArchiveError<T>(_ expression: @autoclosure () throws -> T, _ message: String, exitCode: Int32 = 1,
                                         file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try expression(), file: file, line: line) { error in
            guard let error = error as? PGArchiveError else {
                return XCTFail("expected PGArchiveError, got \(type(of: error)): \(error)", file: file, line: line)
            }
            XCTAssertEqual(error.message, message, file: file, line: line)
            XCTAssertEqual(error.exitCode, exitCode, file: file, line: line)
        }
    }

    private func assertFetch(_ archive: WALArchive, _ name: String, to destination: String, partialOK: Bool,
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

/// What the lock waiter thread saw, shared with the test thread.
private final class LockWaiter: @unchecked Sendable {
    private let lock = NSLock()
    private var _message: String?
    private var _acquired = false

    var message: String? { lock.withLock { _message } }
    var acquired: Bool { lock.withLock { _acquired } }

    func record(message: String) { lock.withLock { _message = message } }
    func record(acquired: Bool) { lock.withLock { _acquired = acquired } }

    func waitForMessage(timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if message != nil { return true }
            usleep(20_000)
        }
        return false
    }
}
