import Foundation
import Logging
@testable import PGArchiveCore
import Postgres
import XCTest

/// Time spans, byte counts, names, the standby's generated settings, the root check.
extension CoreUnitTests {
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
}
