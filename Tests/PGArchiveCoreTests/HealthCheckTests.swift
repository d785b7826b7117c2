import Foundation
import PGArchiveCore
import XCTest

/// `check` and the status health levels, evaluated on made-up statuses.
final class HealthCheckTests: XCTestCase {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func healthy() -> ContainerStatus {
        var s = try! JSONDecoder().decode(ContainerStatus.self, from: Data("""
            {"container": "/srv/c", "retired": false, "missingSegments": [],
             "receiver": {"state": "running", "pid": 10, "detail": "running (pid 10)"},
             "standby": {"state": "running", "pid": 11, "detail": "running (pid 11)"},
             "upstreamReachable": true, "schemaVersion": 1, "cronRuns": [], "snapshotCount": 0,
             "cloneCount": 0, "clonesRunning": 0, "walArchiveBytes": 0, "health": "ok", "problems": []}
            """.utf8))
        s.upstreamLSN = "0/5000000"
        s.slotActive = true
        s.receivedLSN = "0/5000000"
        s.replayedLSN = "0/5000000"
        s.replayLagSeconds = 0
        s.newestSegment = "000000010000000000000005.partial"
        s.newestSegmentTime = now.addingTimeInterval(-30)
        s.snapshotCount = 3
        s.newestSnapshot = "2027-01-15T07:00:00Z"
        s.newestSnapshotAgeSeconds = 1800
        s.fileSystemSizeBytes = 100 << 30
        s.fileSystemFreeBytes = 50 << 30
        return s
    }

    func levels(_ s: ContainerStatus, redoPresent: Bool? = true) -> [String: HealthCheck.Level] {
        Dictionary(uniqueKeysWithValues: HealthCheck.evaluate(s, oldestSnapshotRedoPresent: redoPresent, limits: .init(), now: now).map { ($0.name, $0.level) })
    }

    func testHealthyContainerPassesEveryCheck() {
        let results = HealthCheck.evaluate(healthy(), oldestSnapshotRedoPresent: true, limits: .init(), now: now)
        XCTAssertEqual(results.map(\.name), ["upstream reachable", "replication slot active", "WAL arriving", "standby replaying",
                                             "newest snapshot", "no WAL gap", "free space", "cron jobs", "last verification"])
        XCTAssertEqual(Set(results.map(\.level)), [.ok], "\(results)")
    }

    func testCriticalBeatsUnknownInTheExitLevel() {
        var s = healthy(); s.upstreamReachable = false; s.slotActive = nil
        let results = HealthCheck.evaluate(s, oldestSnapshotRedoPresent: true, limits: .init(), now: now)
        XCTAssertEqual(HealthCheck.overall(results), .critical, "an unreachable upstream is critical, not unknown: \(results)")
        s = healthy(); s.fileSystemSizeBytes = nil
        XCTAssertEqual(HealthCheck.overall(HealthCheck.evaluate(s, oldestSnapshotRedoPresent: true, limits: .init(), now: now)), .unknown)
        XCTAssertEqual(HealthCheck.overall(HealthCheck.evaluate(healthy(), oldestSnapshotRedoPresent: true, limits: .init(), now: now)), .ok)
    }

    func testSynchronousReceiverCheck() {
        func result(_ s: ContainerStatus) -> HealthCheck.Result? {
            HealthCheck.evaluate(s, oldestSnapshotRedoPresent: true, limits: .init(), now: now).first { $0.name == "synchronous receiver" }
        }
        var s = healthy(); s.receiverApplicationName = "pgarchive_main"; s.receiverSyncState = "async"
        XCTAssertNil(result(s), "no line for an asynchronous archive")
        s.synchronous = false; XCTAssertNil(result(s))
        s.synchronous = true
        XCTAssertEqual(result(s)?.level, .warning)
        XCTAssertEqual(result(s)?.detail, "synchronous = on but the upstream treats pgarchive_main as async: commits do not wait for the archive; add it to the upstream's synchronous_standby_names")
        s.receiverSyncState = "potential"; XCTAssertEqual(result(s)?.level, .warning)
        s.receiverSyncState = "sync"; XCTAssertEqual(result(s)?.level, .ok)
        s.receiverSyncState = "quorum"; XCTAssertEqual(result(s)?.level, .ok)
        s.receiverSyncState = nil
        XCTAssertEqual(result(s)?.level, .warning)
        XCTAssertEqual(result(s)?.detail, "synchronous = on but pgarchive_main is not streaming")
        s.upstreamReachable = false; XCTAssertEqual(result(s)?.level, .unknown)
        // The upstream waits for a receiver that confirms only at segment ends: commits stall.
        s = healthy(); s.receiverApplicationName = "pgarchive_main"; s.synchronous = false; s.receiverSyncState = "sync"
        XCTAssertEqual(result(s)?.level, .warning)
        XCTAssertTrue(result(s)?.detail.contains("set synchronous = on") == true)
    }

    func testEachProblemHasItsLevel() {
        var s = healthy(); s.upstreamReachable = false; s.slotActive = nil
        XCTAssertEqual(levels(s)["upstream reachable"], .critical)
        XCTAssertEqual(levels(s)["replication slot active"], .unknown)
        s = healthy(); s.slotActive = nil
        XCTAssertEqual(levels(s)["replication slot active"], .critical)
        s = healthy(); s.slotActive = false
        XCTAssertEqual(levels(s)["replication slot active"], .warning)
        s = healthy(); s.receiver.state = "stopped"
        XCTAssertEqual(levels(s)["WAL arriving"], .critical)
        s = healthy(); s.newestSegmentTime = now.addingTimeInterval(-7200); s.receivedLSN = "0/4000000"
        XCTAssertEqual(levels(s)["WAL arriving"], .warning, "silent for 2 h while the upstream is ahead")
        s = healthy(); s.newestSegmentTime = now.addingTimeInterval(-7200)
        XCTAssertEqual(levels(s)["WAL arriving"], .ok, "a quiet upstream is not a problem")
        s = healthy(); s.newestSegmentTime = now.addingTimeInterval(-7200); s.receivedLSN = "0/4000000"; s.receiverWriteLSN = "0/5000000"
        XCTAssertEqual(levels(s)["WAL arriving"], .ok, "a quiet upstream mid-segment: written all, flushed at the segment start (no --synchronous)")
        s.receiverWriteLSN = "0/4800000"
        XCTAssertEqual(levels(s)["WAL arriving"], .warning, "written behind the upstream for 2 h")
        s = healthy(); s.replayLagSeconds = 4000
        XCTAssertEqual(levels(s)["standby replaying"], .warning)
        s = healthy(); s.newestSnapshotAgeSeconds = 26 * 3600
        XCTAssertEqual(levels(s)["newest snapshot"], .warning)
        s = healthy(); s.newestSnapshotAgeSeconds = nil
        XCTAssertEqual(levels(s)["newest snapshot"], .critical)
        s = healthy(); s.missingSegments = ["000000010000000000000003"]
        XCTAssertEqual(levels(s)["no WAL gap"], .critical)
        XCTAssertEqual(levels(healthy(), redoPresent: false)["no WAL gap"], .critical)
        s = healthy(); s.fileSystemFreeBytes = 8 << 30
        XCTAssertEqual(levels(s)["free space"], .warning)
        s = healthy(); s.fileSystemFreeBytes = 4 << 30
        XCTAssertEqual(levels(s)["free space"], .critical)
    }

    func testRetiredContainerNeedsNoDaemons() {
        var s = healthy(); s.retired = true; s.receiver.state = "stopped"; s.standby.state = "stopped"; s.upstreamReachable = false
        let results = HealthCheck.evaluate(s, oldestSnapshotRedoPresent: true, limits: .init(), now: now)
        XCTAssertFalse(results.contains { $0.level != .ok }, "\(results)")
    }

    func testTimeSpanApproximate() {
        XCTAssertEqual(TimeSpan(seconds: 45).approximate, "45 s")
        XCTAssertEqual(TimeSpan(seconds: 1190).approximate, "20 min")
        XCTAssertEqual(TimeSpan(seconds: 3 * 3600 + 720).approximate, "3.2 hours")
        XCTAssertEqual(TimeSpan(seconds: 5 * 86400 / 2).approximate, "2.5 days")
    }
}
