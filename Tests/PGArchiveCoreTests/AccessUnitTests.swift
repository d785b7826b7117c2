import Foundation
@testable import PGArchiveCore
import Postgres
import XCTest

/// Issue 18 items 8, 12, 15 and 16, the pure parts: clone access rules, the global config's
/// permissions, sslpassword as a secret, the slot-retention check and the hot-standby merge.
final class AccessUnitTests: XCTestCase {
    // MARK: - Who may log in to a clone (item 15)

    func testAllowRulesParseAndRenderHBALines() throws {
        let local = try CloneAccessRule(parsing: "anna")
        XCTAssertEqual(local, CloneAccessRule(role: "anna"))
        XCTAssertTrue(local.isLoopback)
        XCTAssertEqual(local.hbaLines, ["host    all             anna    127.0.0.1/32    scram-sha-256",
                                        "host    all             anna    ::1/128         scram-sha-256"])
        let network = try CloneAccessRule(parsing: "App.Reader@10.1.2.0/24")
        XCTAssertEqual(network.cidr, "10.1.2.0/24")
        XCTAssertFalse(network.isLoopback)
        XCTAssertEqual(network.hbaLines, ["hostssl all             \"App.Reader\"    10.1.2.0/24    scram-sha-256"])
        XCTAssertEqual(try CloneAccessRule(parsing: "bob@192.0.2.7").cidr, "192.0.2.7/32")
        XCTAssertEqual(try CloneAccessRule(parsing: "bob@2001:db8::/32").cidr, "2001:db8::/32")
        XCTAssertTrue(try CloneAccessRule(parsing: "bob@127.0.0.1").isLoopback)
        XCTAssertTrue(try CloneAccessRule(parsing: "bob@::1").isLoopback)
        XCTAssertFalse(try CloneAccessRule(parsing: "bob@0.0.0.0/0").isLoopback)
        // Keywords lose their meaning when quoted: "all" is a role named all, not every role.
        XCTAssertTrue(try CloneAccessRule(parsing: "all").hbaLines[0].contains("\"all\""))
        for bad in ["", "@10.0.0.0/8", "an na", "anna@", "anna@10.0.0.0/33", "anna@10.0.0/8", "anna@host.example", "a\"b", "anna@10.0.0.0/+8", "+group"] {
            XCTAssertThrowsError(try CloneAccessRule(parsing: bad), bad) { error in
                XCTAssertTrue("\(error)".hasPrefix("--allow '"), "\(error)")
            }
        }
    }

    func testCloneHBAAdmitsOnlyTheServiceUserByDefault() throws {
        let hba = CloneAccess.hbaFile(rules: [])
        let rules = hba.split(separator: "\n").filter { !$0.hasPrefix("#") && !$0.trimmingCharacters(in: .whitespaces).isEmpty }
        XCTAssertEqual(rules, ["local   all             all                                     peer map=pgarchive"])
        XCTAssertFalse(hba.contains("md5") || hba.contains("trust") || hba.contains("host "), hba)
        let opened = CloneAccess.hbaFile(rules: [try CloneAccessRule(parsing: "anna")])
        XCTAssertTrue(opened.contains("# --allow anna\nhost    all             anna    127.0.0.1/32    scram-sha-256\n"), opened)
        XCTAssertEqual(CloneAccess.identFile(serviceUser: "postgres", standbyUser: "postgres"),
                       "# Written by pgarchive: the service user logs in to clones as standby_user.\npgarchive    postgres    postgres\n")
        XCTAssertTrue(CloneAccess.identFile(serviceUser: "postgres", standbyUser: "Admin").contains("pgarchive    postgres    \"Admin\"\npgarchive    postgres    postgres\n"))
    }

    func testAllowRulesMustBeReachable() throws {
        let remote = try CloneAccessRule(parsing: "anna@10.0.0.0/8")
        XCTAssertThrowsError(try CloneAccess.validate([remote], listenAddresses: "localhost")) { error in
            XCTAssertTrue("\(error)".contains("clone_listen_addresses = '*'"), "\(error)")
        }
        XCTAssertThrowsError(try CloneAccess.validate([CloneAccessRule(role: "anna")], listenAddresses: "")) { error in
            XCTAssertTrue("\(error)".contains("listen on no TCP address"), "\(error)")
        }
        XCTAssertNoThrow(try CloneAccess.validate([remote], listenAddresses: "*"))
        XCTAssertNoThrow(try CloneAccess.validate([CloneAccessRule(role: "anna")], listenAddresses: "localhost"))
        XCTAssertNoThrow(try CloneAccess.validate([], listenAddresses: ""))
    }

    // MARK: - The smaller ones (item 12)

    func testGlobalConfigWritableByOthersIsRefused() throws {
        XCTAssertNil(GlobalConfigPermissions.problem(path: "/etc/pgarchive.conf", mode: 0o100644, owner: 0, currentUser: 106))
        XCTAssertNil(GlobalConfigPermissions.problem(path: "/etc/pgarchive.conf", mode: 0o100600, owner: 106, currentUser: 106))
        let world = try XCTUnwrap(GlobalConfigPermissions.problem(path: "/etc/pgarchive.conf", mode: 0o100666, owner: 0, currentUser: 106))
        XCTAssertTrue(world.contains("/etc/pgarchive.conf has mode 0666") && world.contains("pg_bindir") && world.contains("chmod go-w /etc/pgarchive.conf"), world)
        XCTAssertNotNil(GlobalConfigPermissions.problem(path: "/etc/pgarchive.conf", mode: 0o100664, owner: 0, currentUser: 106))
        let stranger = try XCTUnwrap(GlobalConfigPermissions.problem(path: "/etc/pgarchive.conf", mode: 0o100644, owner: 1000, currentUser: 106))
        XCTAssertTrue(stranger.contains("belongs to uid 1000") && stranger.contains("chown root"), stranger)

        // Through load(): the file on disk, refused before it is read.
        let directory = NSTemporaryDirectory() + "/pgarchive-global-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let global = directory + "/global.conf", local = directory + "/pgarchive.conf"
        try "pg_bindir = '/tmp/evil'\n".write(toFile: global, atomically: true, encoding: .utf8)
        try "slot = 'a'\n".write(toFile: local, atomically: true, encoding: .utf8)
        chmod(global, 0o646)
        XCTAssertThrowsError(try ContainerConfig.load(containerFile: local, globalFile: global)) { error in
            XCTAssertTrue("\(error)".contains("has mode 0646"), "\(error)")
        }
        chmod(global, 0o644)
        XCTAssertEqual(try ContainerConfig.load(containerFile: local, globalFile: global).pgBindir, "/tmp/evil")
    }

    func testSSLPasswordIsASecret() throws {
        let conninfo = try Conninfo("host=db sslmode=verify-full sslkey=/k sslpassword='key pass'")
        XCTAssertTrue(conninfo.containsPassword)
        XCTAssertFalse(conninfo.redacted.contains("key pass"), conninfo.redacted)
        XCTAssertTrue(conninfo.redacted.contains("sslpassword=********"), conninfo.redacted)
        XCTAssertThrowsError(try conninfo.requireNoPassword()) { error in
            let text = "\(error)"
            XCTAssertFalse(text.contains("key pass"), text)
            XCTAssertTrue(text.contains("without a passphrase"), text)
        }
        var config = ContainerConfig()
        XCTAssertThrowsError(try config.apply([ConfigEntry(key: "upstream_replication", value: "host=db sslpassword=x", file: "/c/pgarchive.conf", line: 4)])) { error in
            XCTAssertTrue("\(error)".hasPrefix("/c/pgarchive.conf:4: upstream_replication contains a password"), "\(error)")
            XCTAssertTrue("\(error)".contains("sslkey=FILE"), "\(error)")
        }
        XCTAssertEqual(Conninfo.redactedOrRaw("host=db sslpassword=x"), "host=db sslpassword=********")
    }

    func testClonePsqlConninfoIsQuoted() throws {
        let layout = ContainerLayout(root: "/srv/my archive")
        var config = ContainerConfig()
        config.standbyUser = "ad min"
        let container = Container(layout: layout, config: config, logger: .init(label: "test"))
        let clone = CloneMetadata(name: "x", snapshot: "s", target: .latest, port: 5440, createdAt: Date())
        let parsed = try Conninfo(container.cloneConninfo(clone))
        XCTAssertEqual(parsed.value(for: "host"), "/srv/my archive/run")
        XCTAssertEqual(parsed.value(for: "user"), "ad min")
        XCTAssertEqual(parsed.value(for: "port"), "5440")
    }

    // MARK: - The slot and the upstream's disk (item 16)

    func status(walStatus: String?, retained: UInt64?, safe: Int64?, limit: Int64?) -> ContainerStatus {
        var s = try! JSONDecoder().decode(ContainerStatus.self, from: Data("""
            {"container": "/srv/c", "retired": false, "missingSegments": [],
             "receiver": {"state": "running", "pid": 10, "detail": "running (pid 10)"},
             "standby": {"state": "running", "pid": 11, "detail": "running (pid 11)"},
             "upstreamReachable": true, "schemaVersion": 1, "cronRuns": [], "snapshotCount": 0,
             "cloneCount": 0, "clonesRunning": 0, "walArchiveBytes": 0, "health": "ok", "problems": []}
            """.utf8))
        s.slotActive = walStatus != "lost"
        s.slotWALStatus = walStatus
        s.slotRetainedBytes = retained
        s.slotSafeWALSizeBytes = safe
        s.upstreamMaxSlotWALKeepSizeBytes = limit
        s.receivedLSN = "0/5000000"
        return s
    }

    func testSlotRetentionCheckLevels() throws {
        let mb: Int64 = 1 << 20
        let ok = try XCTUnwrap(SlotRetention.check(status(walStatus: "reserved", retained: 10 << 20, safe: 54 * mb, limit: 64 * mb)))
        XCTAssertEqual(ok.level, .ok, ok.detail)
        XCTAssertEqual(ok.name, "upstream WAL kept by slot")
        let unlimited = try XCTUnwrap(SlotRetention.check(status(walStatus: "reserved", retained: 900 << 20, safe: nil, limit: -1)))
        XCTAssertEqual(unlimited.level, .ok, unlimited.detail)
        XCTAssertTrue(unlimited.detail.contains("unlimited (max_slot_wal_keep_size = -1)"), unlimited.detail)
        let half = try XCTUnwrap(SlotRetention.check(status(walStatus: "extended", retained: 40 << 20, safe: 24 * mb, limit: 64 * mb)))
        XCTAssertEqual(half.level, .warning, half.detail)
        let unreserved = try XCTUnwrap(SlotRetention.check(status(walStatus: "unreserved", retained: 80 << 20, safe: -16 * mb, limit: 64 * mb)))
        XCTAssertEqual(unreserved.level, .critical, unreserved.detail)
        let lost = status(walStatus: "lost", retained: nil, safe: nil, limit: 64 * mb)
        let lostResult = try XCTUnwrap(SlotRetention.check(lost))
        XCTAssertEqual(lostResult.level, .critical)
        XCTAssertTrue(lostResult.detail.contains("the archive now has a gap after 0/5000000") && lostResult.detail.contains("`pgarchive container resync`"), lostResult.detail)
        var evaluated = lost
        evaluated.evaluate()
        XCTAssertTrue(evaluated.problems.contains { $0.contains("the archive now has a gap") }, "\(evaluated.problems)")
        XCTAssertEqual(evaluated.health, .degraded)
        // Unknown while the upstream is away or the slot is missing (other lines say so).
        var away = status(walStatus: "reserved", retained: 1, safe: 1, limit: 64 * mb)
        away.upstreamReachable = false
        XCTAssertNil(SlotRetention.check(away))
        // In check's results and in the metrics.
        let names = HealthCheck.evaluate(lost, oldestSnapshotRedoPresent: true, limits: .init()).map(\.name)
        XCTAssertTrue(names.contains("upstream WAL kept by slot"), "\(names)")
        let text = ContainerMetrics.render([.init(path: "/srv/c", status: status(walStatus: "extended", retained: 40 << 20, safe: 24 * mb, limit: 64 * mb))])
        XCTAssertTrue(text.contains("pgarchive_slot_retained_bytes{container=\"/srv/c\"} 41943040"), text)
        XCTAssertTrue(text.contains("pgarchive_slot_safe_wal_size_bytes{container=\"/srv/c\"} 25165824"), text)
        XCTAssertTrue(text.contains("pgarchive_slot_lost{container=\"/srv/c\"} 0"), text)
        XCTAssertEqual(SlotRetention.unitBytes("MB"), 1 << 20)
        XCTAssertEqual(SlotRetention.unitBytes("kB"), 1024)
    }

    // MARK: - Hot-standby parameters follow the upstream (item 8)

    func testHotStandbySettingsAreMergedUpwards() {
        let control = HotStandbySettings.fromControlData([
            "max_connections setting": "120", "max_worker_processes setting": "8", "max_wal_senders setting": "10",
            "max_prepared_xacts setting": "0", "max_locks_per_xact setting": "64", "wal_level setting": "replica",
        ])
        XCTAssertEqual(control, ["max_connections": 120, "max_worker_processes": 8, "max_wal_senders": 10,
                                 "max_prepared_transactions": 0, "max_locks_per_transaction": 64])
        let file = ["max_connections": 50, "max_worker_processes": 8, "max_wal_senders": 10, "max_prepared_transactions": 5, "max_locks_per_transaction": 64]
        let merged = HotStandbySettings.merged([file, control, ["max_locks_per_transaction": 32, "shared_buffers": 999]])
        XCTAssertEqual(merged, ["max_connections": 120, "max_worker_processes": 8, "max_wal_senders": 10,
                                "max_prepared_transactions": 5, "max_locks_per_transaction": 64])
        XCTAssertEqual(HotStandbySettings.raised(current: file, required: merged), ["max_connections 50 → 120"])
        XCTAssertEqual(HotStandbySettings.raised(current: merged, required: merged), [])
        XCTAssertEqual(HotStandbySettings.raised(current: [:], required: ["max_connections": 10]), ["max_connections unset → 10"])
    }
}
