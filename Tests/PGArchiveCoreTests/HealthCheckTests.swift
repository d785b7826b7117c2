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
        XCTAssertEqual(results.map(\.name), ["upstream reachable", "replication slot active", "upstream WAL kept by slot", "WAL arriving", "standby replaying",
                                             "newest snapshot", "no WAL gap", "free space", "tablespaces", "cron jobs", "last verification"])
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

    func testFreeSpaceAgainstTheContainersThresholds() {
        var s = healthy()
        s.fileSystemSizeBytes = 400 << 20
        s.fileSystemWarningBytes = 100 << 20   // disk_warning = 25%
        s.fileSystemCriticalBytes = 20 << 20   // disk_critical = 5%
        s.fileSystemFreeBytes = 150 << 20
        XCTAssertEqual(levels(s)["free space"], .ok)
        s.evaluate()
        XCTAssertEqual(s.health, .ok)

        s.fileSystemFreeBytes = 70 << 20
        XCTAssertEqual(levels(s)["free space"], .warning)
        let warning = HealthCheck.evaluate(s, oldestSnapshotRedoPresent: true, limits: .init(), now: now).first { $0.name == "free space" }!
        XCTAssertEqual(warning.detail, "17.5% free (70.0 MiB of 400.0 MiB), below disk_warning (100.0 MiB)")
        s.evaluate()
        XCTAssertEqual(s.health, .degraded)
        XCTAssertEqual(s.problems, ["little free space on the container's file system: 70.0 MiB of 400.0 MiB (below disk_warning, 100.0 MiB); free space or grow the file system before WAL stops arriving"])
        XCTAssertTrue(s.rendered(now: now).contains("file system:      LOW 70.0 MiB free of 400.0 MiB (17.5%)\n"), s.rendered(now: now))

        s.fileSystemFreeBytes = 10 << 20
        XCTAssertEqual(levels(s)["free space"], .critical)
        s.evaluate()
        XCTAssertEqual(s.problems.first?.hasPrefix("almost no free space on the container's file system: 10.0 MiB of 400.0 MiB (below disk_critical, 20.0 MiB)"), true, "\(s.problems)")
        XCTAssertTrue(s.rendered(now: now).contains("file system:      FULL 10.0 MiB free"), s.rendered(now: now))

        // --min-free-percent overrides the container's thresholds (critical below half of it).
        var limits = HealthCheck.Limits()
        limits.minFreePercent = 2
        func level(_ limits: HealthCheck.Limits) -> HealthCheck.Level? {
            HealthCheck.evaluate(s, oldestSnapshotRedoPresent: true, limits: limits, now: now).first { $0.name == "free space" }?.level
        }
        XCTAssertEqual(level(limits), .ok, "10 MiB is 2.5 %")
        limits.minFreePercent = 3
        XCTAssertEqual(level(limits), .warning)
        limits.minFreePercent = 6
        XCTAssertEqual(level(limits), .critical)
    }

    func testNoSpaceErrorIsCriticalWhateverStatvfsSays() {
        var s = healthy()   // 50 % free
        s.noSpaceErrors = ["/srv/c/logs/pg_receivewal.log says: pg_receivewal: error: could not write 8192 bytes to WAL file \"000000010000000000000005\": No space left on device"]
        let result = HealthCheck.evaluate(s, oldestSnapshotRedoPresent: true, limits: .init(), now: now).first { $0.name == "free space" }!
        XCTAssertEqual(result.level, .critical)
        XCTAssertTrue(result.detail.hasPrefix("No space left on device: /srv/c/logs/pg_receivewal.log says: "), result.detail)
        s.evaluate()
        XCTAssertEqual(s.health, .degraded)
        XCTAssertEqual(s.problems.count, 1)
        XCTAssertTrue(s.problems[0].hasPrefix("no space left on the container's file system: /srv/c/logs/pg_receivewal.log says: "), s.problems[0])
        XCTAssertTrue(s.problems[0].hasSuffix("`pgarchive cron watchdog` restarts what stopped and the archive catches up from the slot"), s.problems[0])
    }

    func testDiskThresholdParsing() {
        XCTAssertEqual(DiskThreshold(parsing: "10%"), .percent(10))
        XCTAssertEqual(DiskThreshold(parsing: " 2.5 % "), .percent(2.5))
        XCTAssertEqual(DiskThreshold(parsing: "2 GiB"), .bytes(2 << 30))
        XCTAssertEqual(DiskThreshold(parsing: "2GB"), .bytes(2 << 30))
        XCTAssertEqual(DiskThreshold(parsing: "500 MiB"), .bytes(500 << 20))
        XCTAssertEqual(DiskThreshold(parsing: "1g"), .bytes(1 << 30))
        XCTAssertEqual(DiskThreshold(parsing: "1.5T"), .bytes(3 << 39))
        XCTAssertEqual(DiskThreshold(parsing: "4096"), .bytes(4096))
        for bad in ["", "%", "101%", "-1%", "ten", "2 GiBs", "2 PB", "1e30", "-5 MiB", "NaN%"] {
            XCTAssertNil(DiskThreshold(parsing: bad), bad)
        }
        XCTAssertEqual(DiskThreshold.percent(10).description, "10%")
        XCTAssertEqual(DiskThreshold.percent(2.5).description, "2.5%")
        XCTAssertEqual(DiskThreshold.bytes(2 << 30).description, "2 GiB")
        XCTAssertEqual(DiskThreshold.bytes(1000).description, "1000")
        for t in [DiskThreshold.percent(7), .bytes(3 << 20), .bytes(12345)] {
            XCTAssertEqual(DiskThreshold(parsing: t.description), t, "round trip of \(t)")
        }
        XCTAssertEqual(DiskThreshold.percent(10).bytes(ofSize: 400 << 20), 40 << 20)
        XCTAssertEqual(DiskThreshold.bytes(5).bytes(ofSize: 400 << 20), 5)
        XCTAssertEqual(DiskSpace.level(free: 50, warningBytes: 40, criticalBytes: 20), .ok)
        XCTAssertEqual(DiskSpace.level(free: 39, warningBytes: 40, criticalBytes: 20), .warning)
        XCTAssertEqual(DiskSpace.level(free: 19, warningBytes: 40, criticalBytes: 20), .critical)
    }

    func testDiskThresholdConfigKeys() throws {
        var config = ContainerConfig()
        config.slot = "pgarchive_c"
        XCTAssertEqual(config.diskWarning, .percent(10))
        XCTAssertEqual(config.diskCritical, .percent(5))
        try config.apply(ConfigFile.parse("disk_warning = '2 GiB'\ndisk_critical = '3%'\n", file: "pgarchive.conf"))
        XCTAssertEqual(config.diskWarning, .bytes(2 << 30))
        XCTAssertEqual(config.diskCritical, .percent(3))
        XCTAssertThrowsError(try config.apply(ConfigFile.parse("disk_warning = 'lots'\n", file: "pgarchive.conf"))) { error in
            XCTAssertTrue("\(error)".contains("pgarchive.conf:1: invalid value 'lots' for disk_warning: expected a share of the file system such as '10%' or an amount such as '2 GiB'"), "\(error)")
        }
        // What init writes reads back the same.
        var reread = ContainerConfig()
        let diskLines = config.rendered().split(separator: "\n").filter { $0.hasPrefix("disk_") }.joined(separator: "\n")
        XCTAssertEqual(diskLines, "disk_warning = '2 GiB'\ndisk_critical = '3%'")
        try reread.apply(ConfigFile.parse(diskLines, file: "pgarchive.conf"))
        XCTAssertEqual(reread.diskWarning, .bytes(2 << 30))
        XCTAssertEqual(reread.diskCritical, .percent(3))
    }

    func testCurrentNoSpaceLineOfTheReceiversLog() {
        let markers = DiskSpace.receiverProgressMarkers
        let full = """
            pg_receivewal: starting log streaming at 0/1000000 (timeline 1)
            pg_receivewal: finished segment at 0/2000000 (timeline 1)
            pg_receivewal: error: could not write 131072 bytes to WAL file "000000010000000000000004": No space left on device
            pg_receivewal: disconnected; waiting 5 seconds to try again
            """
        XCTAssertEqual(DiskSpace.currentNoSpaceLine(in: full, progressMarkers: markers),
                       #"pg_receivewal: error: could not write 131072 bytes to WAL file "000000010000000000000004": No space left on device"#)
        // Retrying and failing again on the short segment it could not zero-fill.
        let stuck = full + """

            pg_receivewal: starting log streaming at 0/4000000 (timeline 1)
            pg_receivewal: error: write-ahead log file "000000010000000000000004.partial" has 13004800 bytes, should be 0 or 16777216
            pg_receivewal: disconnected; waiting 5 seconds to try again
            """
        XCTAssertEqual(DiskSpace.currentNoSpaceLine(in: stuck, progressMarkers: markers)?.hasSuffix("should be 0 or 16777216"), true)
        // Streaming again after the error: history, not current.
        XCTAssertNil(DiskSpace.currentNoSpaceLine(in: full + "\npg_receivewal: starting log streaming at 0/4000000 (timeline 1)\n", progressMarkers: markers))
        XCTAssertNil(DiskSpace.currentNoSpaceLine(in: "pg_receivewal: finished segment at 0/2000000 (timeline 1)\n", progressMarkers: markers))
        XCTAssertNil(DiskSpace.currentNoSpaceLine(in: "", progressMarkers: markers))
    }

    func testCurrentNoSpaceLineOfTheStandbysLog() {
        let markers = DiskSpace.standbyProgressMarkers
        let panic = """
            2026-11-21 12:07:17.571 GMT [27378] LOG:  database system is ready to accept read-only connections
            2026-11-21 12:07:19.150 GMT [27405] LOG:  restored log file "000000010000000000000006" from archive
            pgarchive wal fetch: cannot create pg_wal/RECOVERYXLOG: No space left on device
            2026-11-21 12:07:22.158 GMT [27405] PANIC:  could not extend file "base/5/16384": No space left on device
            """
        XCTAssertEqual(DiskSpace.currentNoSpaceLine(in: panic, progressMarkers: markers),
                       #"2026-11-21 12:07:22.158 GMT [27405] PANIC:  could not extend file "base/5/16384": No space left on device"#)
        let restarted = panic + "\n2026-11-21 12:09:00.000 GMT [28000] LOG:  database system is ready to accept read-only connections\n"
        XCTAssertNil(DiskSpace.currentNoSpaceLine(in: restarted, progressMarkers: markers))
        let restartpoint = panic + "\n2026-11-21 12:09:00.000 GMT [28001] LOG:  restartpoint complete: wrote 3 buffers (0.0%)\n"
        XCTAssertNil(DiskSpace.currentNoSpaceLine(in: restartpoint, progressMarkers: markers))
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
