import Foundation
@testable import PGArchiveCore
import XCTest

/// `status --all` / `check --all`: ordering, exit codes and formatting on made-up statuses,
/// and where the root comes from (`containers_root`, global file only).
final class FleetTests: XCTestCase {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func status(_ path: String, health: ContainerStatus.Health, problems: [String] = []) -> ContainerStatus {
        var s = try! JSONDecoder().decode(ContainerStatus.self, from: Data("""
            {"container": "\(path)", "retired": false, "missingSegments": [],
             "receiver": {"state": "running", "pid": 10, "detail": "running (pid 10)"},
             "standby": {"state": "running", "pid": 11, "detail": "running (pid 11)"},
             "upstreamReachable": true, "schemaVersion": 1, "cronRuns": [], "snapshotCount": 0,
             "cloneCount": 0, "clonesRunning": 0, "walArchiveBytes": 0, "health": "ok", "problems": []}
            """.utf8))
        s.health = health
        s.problems = problems
        return s
    }

    func testStatusEntriesAreSortedWorstFirstAndTheWorstGivesTheExitCode() {
        let report = Fleet.report(root: "/srv/pa", [
            .init(container: "/srv/pa/a", health: .ok, status: status("/srv/pa/a", health: .ok)),
            .init(container: "/srv/pa/d", health: .degraded, status: status("/srv/pa/d", health: .degraded, problems: ["x"])),
            .init(container: "/srv/pa/b", health: .error, error: "refusing to use the container: …"),
            .init(container: "/srv/pa/c", health: .down, status: status("/srv/pa/c", health: .down)),
            .init(container: "/srv/pa/0", health: .degraded, status: status("/srv/pa/0", health: .degraded)),
        ])
        XCTAssertEqual(report.containers.map(\.container), ["/srv/pa/b", "/srv/pa/c", "/srv/pa/0", "/srv/pa/d", "/srv/pa/a"])
        XCTAssertEqual(report.health, .error)
        XCTAssertEqual(report.health.exitCode, 2)
        XCTAssertEqual(Fleet.report(root: "/r", [.init(container: "/r/a", health: .degraded)]).health.exitCode, 1)
        XCTAssertEqual(Fleet.report(root: "/r", [.init(container: "/r/a", health: .ok)]).health.exitCode, 0)
        XCTAssertEqual(Fleet.Health.down.exitCode, 2)
    }

    func testStatusLinesShowAgeRangeLagVerifyAndTheFirstProblem() {
        var degraded = status("/srv/pa/db1", health: .degraded, problems: ["pg_receivewal is stopped: no new WAL is being archived", "the replication slot is inactive"])
        degraded.newestSnapshotAgeSeconds = 1800
        degraded.oldestRestorableTime = Date(timeIntervalSince1970: 1_799_000_000)
        degraded.newestRestorableTime = Date(timeIntervalSince1970: 1_799_990_000)
        degraded.replayLagSeconds = 95
        degraded.lastVerify = VerifyRecord(startedAt: now.addingTimeInterval(-7300), finishedAt: now.addingTimeInterval(-7200), durationSeconds: 100,
                                           result: .failed, restore: true, snapshots: [], problemCount: 1, summary: "bad")
        let report = Fleet.report(root: "/srv/pa", [
            .init(container: "/srv/pa/db2", health: .ok, status: status("/srv/pa/db2", health: .ok)),
            .init(container: "/srv/pa/db1", health: .degraded, status: degraded),
            .init(container: "/srv/pa/bad", health: .error, error: "/srv/pa/bad/pgarchive.conf:1: unknown setting 'x'"),
        ])
        let lines = Fleet.renderStatus(report, now: now).split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 4, lines.joined(separator: "\n"))
        XCTAssertTrue(lines[0].hasPrefix("HEALTH    CONTAINER    NEWEST SNAPSHOT  RESTORABLE"), lines[0])
        XCTAssertTrue(lines[1].hasPrefix("ERROR     /srv/pa/bad  "), lines[1])
        XCTAssertTrue(lines[1].hasSuffix("/srv/pa/bad/pgarchive.conf:1: unknown setting 'x'"), lines[1])
        XCTAssertTrue(lines[2].hasPrefix("DEGRADED  /srv/pa/db1  30 min old "), lines[2])
        XCTAssertTrue(lines[2].contains("2027-01-03T18:13:20Z to 2027-01-15T05:13:20Z"), lines[2])
        XCTAssertTrue(lines[2].contains(" 95 s "), lines[2])
        XCTAssertTrue(lines[2].contains(" FAILED 2.0 hours ago "), lines[2])
        XCTAssertTrue(lines[2].hasSuffix("pg_receivewal is stopped: no new WAL is being archived (+1 more)"), lines[2])
        XCTAssertTrue(lines[3].hasPrefix("ok        /srv/pa/db2  none "), lines[3])
        XCTAssertTrue(lines[3].contains(" nothing "), lines[3])
        XCTAssertTrue(lines[3].contains(" never "), lines[3])
        // Columns line up: every row has its CONTAINER cell at the same offset.
        XCTAssertEqual(Set(lines.map { $0.range(of: "/srv/pa/")?.lowerBound.utf16Offset(in: $0) ?? -1 }.dropFirst()), [10])
    }

    func testCheckSummaryHasCountsAndPerfdataThenOneLinePerContainer() {
        func result(_ name: String, _ level: HealthCheck.Level, _ detail: String) -> HealthCheck.Result {
            HealthCheck.Result(name: name, level: level, detail: detail)
        }
        var withAge = status("/r/a", health: .ok)
        withAge.newestSnapshotAgeSeconds = 120.7
        withAge.replayLagSeconds = 3
        let entries = Fleet.sorted([
            .init(container: "/r/a", level: .ok, results: [result("newest snapshot", .ok, "fine")], status: withAge),
            .init(container: "/r/u", level: .unknown, results: [result("replication slot active", .unknown, "upstream unreachable")]),
            .init(container: "/r/w", level: .warning, results: [result("newest snapshot", .warning, "old"), result("cron jobs", .ok, "fine")]),
            .init(container: "/r/c", level: .critical, results: [result("container", .critical, "cannot be opened: refusing")]),
        ])
        XCTAssertEqual(entries.map(\.container), ["/r/c", "/r/u", "/r/w", "/r/a"])
        XCTAssertEqual(Fleet.overall(entries), .critical)
        XCTAssertEqual(Fleet.overall(Array(entries.dropFirst())), .unknown)
        XCTAssertEqual(Fleet.overall(Array(entries.dropFirst(2))), .warning)
        let lines = Fleet.renderCheck(root: "/r", entries).split(separator: "\n").map(String.init)
        XCTAssertEqual(lines, [
            "PGARCHIVE CRITICAL: 4 container(s) in /r: 1 critical, 1 warning, 1 unknown, 1 ok | containers=4 ok=1 warning=1 critical=1 unknown=1 'a snapshot_age'=120s 'a replay_lag'=3s",
            "CRITICAL /r/c: container: CRITICAL (cannot be opened: refusing)",
            "UNKNOWN /r/u: replication slot active: UNKNOWN (upstream unreachable)",
            "WARNING /r/w: newest snapshot: WARNING (old)",
            "OK /r/a",
        ])
        XCTAssertEqual(Fleet.perfdataLabel("it's=x"), "it_s_x")
    }

    func testContainersRootComesFromTheGlobalFileOnly() throws {
        let directory = NSTemporaryDirectory() + "fleet-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let global = directory + "/pgarchive.conf"
        try "expire_after = '10 days'\ncontainers_root = '/srv/pa/'\n".write(toFile: global, atomically: true, encoding: .utf8)
        XCTAssertEqual(try Fleet.root(option: nil, globalFile: global), "/srv/pa")
        XCTAssertEqual(try Fleet.root(option: "/elsewhere", globalFile: global), "/elsewhere")

        XCTAssertThrowsError(try Fleet.root(option: nil, globalFile: directory + "/missing.conf")) { error in
            XCTAssertEqual((error as? PGArchiveError)?.message, "no directory of containers given: pass --root DIR, or set containers_root = '/srv/pgarchive' (the directory holding the containers) in \(directory)/missing.conf")
        }
        try "containers_root = 'relative/dir'\n".write(toFile: global, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try Fleet.root(option: nil, globalFile: global)) { error in
            XCTAssertEqual((error as? PGArchiveError)?.message, "\(global):1: invalid value 'relative/dir' for containers_root: expected an absolute path such as '/srv/pgarchive'")
        }

        // In a container's own file it is refused, naming the line and where it belongs.
        let containerFile = directory + "/container.conf"
        try "slot = 's'\ncontainers_root = '/srv/pa'\n".write(toFile: containerFile, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ContainerConfig.load(containerFile: containerFile, globalFile: nil)) { error in
            XCTAssertTrue((error as? PGArchiveError)?.message.hasPrefix("\(containerFile):2: containers_root is about all containers and belongs in the global file") == true, "\(error)")
        }
        // The global file's containers_root does not stop containers from loading, and
        // container init does not write it into a container's file.
        try "containers_root = '/srv/pa'\n".write(toFile: global, atomically: true, encoding: .utf8)
        try "slot = 's'\n".write(toFile: containerFile, atomically: true, encoding: .utf8)
        let config = try ContainerConfig.load(containerFile: containerFile, globalFile: global)
        XCTAssertEqual(config.slot, "s")
        XCTAssertFalse(config.rendered().contains("containers_root"))
    }
}
