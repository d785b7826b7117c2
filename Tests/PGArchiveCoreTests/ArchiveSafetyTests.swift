import Foundation
import Logging
@testable import PGArchiveCore
import Postgres
import XCTest

/// Issue 18 items 5, 6, 7, 9, 11 at the level of pure logic: which data directories hold back
/// WAL expiry, how pids are matched to data directories, WAL names of other segment sizes and
/// the lost-slot check.
final class ArchiveSafetyTests: XCTestCase {
    private func temporaryDirectory() throws -> String {
        var template = Array((NSTemporaryDirectory() as NSString).appendingPathComponent("pgarchive-safety.XXXXXX").utf8CString)
        guard let created = mkdtemp(&template) else { throw PGArchiveError("mkdtemp failed") }
        let path = String(cString: created)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    // MARK: item 6: only data directories still in recovery need the archive

    func testOnlyDataDirectoriesInRecoveryNeedTheArchive() {
        for state in ["in archive recovery", "shut down in recovery", "starting up", "something new"] {
            XCTAssertTrue(WALExpiryHolds.needsArchive(ControlData.ClusterState(state)), state)
        }
        for state in ["in production", "shut down", "shutting down", "in crash recovery"] {
            XCTAssertFalse(WALExpiryHolds.needsArchive(ControlData.ClusterState(state)), state)
        }
    }

    // MARK: item 9: a pid is a postmaster only in its own data directory

    func testAPidIsThePostmasterOnlyOfTheDirectoryItRunsIn() throws {
        let here = FileManager.default.currentDirectoryPath
        XCTAssertEqual(Processes.workingDirectory(of: getpid()), Processes.canonical(here))
        XCTAssertTrue(Processes.isPostmaster(getpid(), of: here))
        let elsewhere = try temporaryDirectory()
        XCTAssertFalse(Processes.isPostmaster(getpid(), of: elsewhere))
        XCTAssertFalse(Processes.isPostmaster(1, of: "/"), "pid 1 is another user's: its cwd is unreadable, so not ours")

        // A postmaster.pid naming a live process that runs elsewhere (this test) is stale, and
        // clearing it removes only the file.
        try "\(getpid())\n\(elsewhere)\n".write(toFile: elsewhere + "/postmaster.pid", atomically: true, encoding: .utf8)
        XCTAssertEqual(Processes.postmasterState(dataDirectory: elsewhere), .stalePIDFile(pid: getpid()))
        XCTAssertTrue(Processes.clearStalePostmasterPID(dataDirectory: elsewhere, logger: Logger(label: "test")))
        XCTAssertFalse(FileManager.default.fileExists(atPath: elsewhere + "/postmaster.pid"))
        XCTAssertTrue(Processes.isAlive(getpid()))

        // A process that runs in the directory: "running", and the file stays.
        let inside = try temporaryDirectory()
        let sleeper = Process()
        sleeper.executableURL = URL(fileURLWithPath: "/bin/sleep")
        sleeper.arguments = ["30"]
        sleeper.currentDirectoryURL = URL(fileURLWithPath: inside)
        try sleeper.run()
        defer { sleeper.terminate(); sleeper.waitUntilExit() }
        let pid = sleeper.processIdentifier
        try "\(pid)\n".write(toFile: inside + "/postmaster.pid", atomically: true, encoding: .utf8)
        XCTAssertEqual(Processes.postmasterState(dataDirectory: inside), .running(pid: pid))
        XCTAssertFalse(Processes.clearStalePostmasterPID(dataDirectory: inside, logger: Logger(label: "test")))
        XCTAssertTrue(FileManager.default.fileExists(atPath: inside + "/postmaster.pid"))
    }

    // MARK: item 11: other segment sizes

    private func entries(_ names: [String]) -> [WALArchive.Entry] {
        names.map { WALArchive.Entry(name: WALFileName.parse($0)!, path: "/a/" + $0, size: 0, modified: Date()) }
    }

    func testSixtyFourMiBSegmentsAcrossALogBoundaryHaveNoGap() {
        let names = ["00000001000000000000003E", "00000001000000000000003F", "000000010000000100000000", "000000010000000100000001.partial"]
        XCTAssertEqual(WALArchive.missingSegments(in: entries(names), segmentSize: 64 << 20), [])
        // With 16 MiB assumed, the same names look like a gap of 192 segments.
        XCTAssertEqual(WALArchive.missingSegments(in: entries(names), segmentSize: 16 << 20).count, 192)
        XCTAssertEqual(WALArchive.missingSegments(in: entries(["00000001000000000000003F", "000000010000000100000001"]), segmentSize: 64 << 20).map(\.fileName),
                       ["000000010000000100000000"])
        XCTAssertEqual(WALFileName.parse("000000010000000100000000")!.startLSN(segmentSize: 64 << 20), LSN("1/0"))
        XCTAssertEqual(WALFileName.parse("00000001000000000000003F")!.startLSN(segmentSize: 64 << 20), LSN("0/FC000000"))
    }

    func testOrderDoesNotDependOnTheSegmentSize() throws {
        // 1 MiB segments: `seg` runs to FFF, which 16 MiB arithmetic cannot even parse.
        let dir = try temporaryDirectory()
        for name in ["000000010000000000000FFF", "0000000100000000000000FF", "000000010000000100000000", "000000010000000000000100"] {
            try Data().write(to: URL(fileURLWithPath: dir + "/" + name))
        }
        XCTAssertEqual(try WALArchive(directory: dir).entries().map(\.name.fileName),
                       ["0000000100000000000000FF", "000000010000000000000100", "000000010000000000000FFF", "000000010000000100000000"])
    }

    // MARK: item 11: a lost slot is critical

    func testALostSlotIsCritical() throws {
        var s = try JSONDecoder().decode(ContainerStatus.self, from: Data("""
            {"container": "/srv/c", "retired": false, "missingSegments": [],
             "receiver": {"state": "running", "pid": 10, "detail": "running (pid 10)"},
             "standby": {"state": "running", "pid": 11, "detail": "running (pid 11)"},
             "upstreamReachable": true, "schemaVersion": 1, "cronRuns": [], "snapshotCount": 1,
             "cloneCount": 0, "clonesRunning": 0, "walArchiveBytes": 0, "health": "ok", "problems": []}
            """.utf8))
        s.slotActive = false
        s.slotWALStatus = "reserved"
        XCTAssertFalse(HealthCheck.evaluate(s, oldestSnapshotRedoPresent: true, limits: .init()).contains { $0.name == "upstream WAL kept by slot" && $0.level != .ok })
        s.slotWALStatus = "lost"
        let results = HealthCheck.evaluate(s, oldestSnapshotRedoPresent: true, limits: .init())
        let lost = try XCTUnwrap(results.first { $0.name == "upstream WAL kept by slot" })
        XCTAssertEqual(lost.level, .critical)
        XCTAssertTrue(lost.detail.contains("wal_status lost") && lost.detail.contains("pgarchive container resync"), lost.detail)
        XCTAssertEqual(HealthCheck.overall(results), .critical)
        s.retired = true
        XCTAssertFalse(HealthCheck.evaluate(s, oldestSnapshotRedoPresent: true, limits: .init()).contains { $0.name == "upstream WAL kept by slot" }, "a retired container has no slot to lose")
    }
}
