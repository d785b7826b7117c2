import Foundation
import PGArchiveCore
import Postgres
import XCTest

/// `pgarchive verify`'s WAL contiguity on made-up archives: single timeline, a timeline
/// switch with and without its history file, gaps, partial segments.
final class VerifyTests: XCTestCase {
    let size = defaultWALSegmentSize

    func seg(_ tli: UInt32, _ n: UInt64, partial: Bool = false, compressed: Bool = false) -> WALFileName {
        WALFileName(timeline: tli, segmentNumber: n, segmentSize: size, isPartial: partial, compression: compressed ? .zstd : nil)
    }

    func name(_ tli: UInt32, _ n: UInt64) -> String { seg(tli, n).fileName }

    func check(_ files: [WALFileName], histories: [UInt32: String?] = [:], start: (UInt32, UInt64)) -> WALContiguity.Result {
        WALContiguity.check(WALContiguity.Inventory(files: files, histories: histories, segmentSize: size),
                            start: (start.0, start.1), startLabel: "snapshot S", segmentSize: size)
    }

    func testSingleTimelineContiguousWithCompressedAndPartial() {
        let files = [seg(1, 2), seg(1, 3, compressed: true), seg(1, 4), seg(1, 5, partial: true)]
        let result = check(files, start: (1, 3))
        XCTAssertEqual(result.problems, [])
        XCTAssertEqual(result.segmentsChecked, 3)
        XCTAssertEqual(result.end?.fileName, name(1, 5) + ".partial")
        XCTAssertEqual(result.path.map(\.timeline), [1])
    }

    func testGapIsNamedAndRunsAreGrouped() {
        let files = [seg(1, 2), seg(1, 3), seg(1, 5), seg(1, 9), seg(1, 10, partial: true)]
        let result = check(files, start: (1, 2))
        XCTAssertEqual(result.problems.count, 2, "\(result.problems)")
        XCTAssertTrue(result.problems[0].hasPrefix("WAL segment \(name(1, 4)) is missing in wal_archive/: snapshot S"), result.problems[0])
        XCTAssertTrue(result.problems[1].hasPrefix("WAL segments \(name(1, 6)) to \(name(1, 8)) (3) are missing"), result.problems[1])
        for problem in result.problems { XCTAssertTrue(problem.contains("pgarchive snapshot create"), "says what to do: \(problem)") }
    }

    func testStartBeforeTheArchiveAndOnlyPartialInTheMiddle() {
        var result = check([seg(1, 5), seg(1, 6)], start: (1, 4))
        XCTAssertEqual(result.problems.count, 1)
        XCTAssertTrue(result.problems[0].contains(name(1, 4)), result.problems[0])
        result = check([seg(1, 5), seg(1, 6, partial: true), seg(1, 7)], start: (1, 5))
        XCTAssertEqual(result.problems.count, 1)
        XCTAssertTrue(result.problems[0].contains("\(name(1, 6)) is only present as .partial"), result.problems[0])
    }

    func testParseHistory() {
        XCTAssertEqual(WALContiguity.parseHistory("1\t0/5000A28\tno recovery target specified\n\n2\t0/7000000\tat restore point \"x\"\n"),
                       [.init(timeline: 1, switchPoint: LSN(0x5000A28)), .init(timeline: 2, switchPoint: LSN(0x7000000))])
        XCTAssertEqual(WALContiguity.parseHistory("# comment\n"), [])
        XCTAssertNil(WALContiguity.parseHistory("1 nonsense\n"))
    }

    /// The upstream was promoted at 0/5000A28 (in segment 5): timeline 1 up to segment 4
    /// (its segment 5 stays as .partial, as pg_receivewal leaves it), timeline 2 from 5 on.
    var promoted: [WALFileName] {
        [seg(1, 3), seg(1, 4, compressed: true), seg(1, 5, partial: true), .history(timeline: 2), seg(2, 5), seg(2, 6), seg(2, 7, partial: true)]
    }
    let history2 = "1\t0/5000A28\tno recovery target specified\n"

    func testTimelineSwitchWithHistoryFile() {
        let result = check(promoted, histories: [2: history2], start: (1, 3))
        XCTAssertEqual(result.problems, [])
        XCTAssertEqual(result.path, [.init(timeline: 1, from: 0), .init(timeline: 2, from: 5)])
        XCTAssertEqual(result.segmentsChecked, 5)
        XCTAssertEqual(result.end?.fileName, name(2, 7) + ".partial")

        // A snapshot on the new timeline checks from there.
        XCTAssertEqual(check(promoted, histories: [2: history2], start: (2, 6)).problems, [])

        // The new timeline's copy of the switch segment is needed; the old .partial does not do.
        var files = promoted
        files.removeAll { $0 == seg(2, 5) }
        var result2 = check(files, histories: [2: history2], start: (1, 3))
        XCTAssertEqual(result2.problems.count, 1, "\(result2.problems)")
        XCTAssertTrue(result2.problems[0].hasPrefix("WAL segment \(name(2, 5)) is missing"), result2.problems[0])

        // Old-timeline segments before the switch are needed under the old timeline.
        files = promoted
        files.removeAll { $0 == seg(1, 4, compressed: true) }
        result2 = check(files, histories: [2: history2], start: (1, 3))
        XCTAssertEqual(result2.problems.count, 1, "\(result2.problems)")
        XCTAssertTrue(result2.problems[0].hasPrefix("WAL segment \(name(1, 4)) is missing"), result2.problems[0])
    }

    func testTimelineSwitchWithoutHistoryFile() {
        var files = promoted
        files.removeAll(where: \.isHistory)
        let result = check(files, histories: [:], start: (1, 3))
        XCTAssertEqual(result.problems.count, 1, "\(result.problems)")
        XCTAssertTrue(result.problems[0].hasPrefix("timeline history file 00000002.history is missing from wal_archive/"), result.problems[0])
        XCTAssertTrue(result.problems[0].contains("copy it from the upstream's pg_wal/"), result.problems[0])
        // Contiguity is still checked, with the switch guessed from the segments present.
        XCTAssertEqual(result.path, [.init(timeline: 1, from: 0), .init(timeline: 2, from: 5)])
        XCTAssertEqual(result.segmentsChecked, 5)

        // A malformed history file is named too.
        let malformed = check(promoted, histories: [2: "garbage\n"], start: (1, 3))
        XCTAssertTrue(malformed.problems.first?.contains("00000002.history cannot be read") == true, "\(malformed.problems)")
    }

    func testSnapshotOnAnotherBranchIsReported() {
        // Timeline 3 branched from timeline 1: a snapshot on timeline 2 is not on the path.
        let files = [seg(1, 3), seg(2, 5), .history(timeline: 3), seg(3, 6)]
        let result = check(files, histories: [3: "1\t0/5000000\tx\n"], start: (2, 5))
        XCTAssertEqual(result.problems.count, 1)
        XCTAssertTrue(result.problems[0].contains("not an ancestor of the archive's newest timeline 3"), result.problems[0])
    }

    func testEmptyArchive() {
        let result = check([], start: (1, 3))
        XCTAssertEqual(result.problems.count, 1)
        XCTAssertTrue(result.problems[0].contains("no WAL segments"), result.problems[0])
    }

    func testReportSummaryAndRecord() {
        var report = VerifyReport(container: "/c", startedAt: Date(timeIntervalSince1970: 0), finishedAt: Date(timeIntervalSince1970: 5), restore: false)
        report.problems = ["WAL segment X is missing"]
        report.result = .failed
        XCTAssertTrue(report.summary.hasPrefix("1 problem(s), first: WAL segment X is missing"), report.summary)
        XCTAssertEqual(report.record.problemCount, 1)
        XCTAssertTrue(report.rendered().contains("problem: WAL segment X is missing\n"))
        XCTAssertTrue(report.rendered().contains("result: FAILED (1 problem(s))"))
    }

    func testCheckAndMetricsShowTheLastVerification() throws {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        var s = try JSONDecoder().decode(ContainerStatus.self, from: Data("""
            {"container": "/c", "retired": true, "missingSegments": [],
             "receiver": {"state": "stopped", "detail": "stopped"}, "standby": {"state": "stopped", "detail": "stopped"},
             "upstreamReachable": false, "schemaVersion": 1, "cronRuns": [], "snapshotCount": 1,
             "cloneCount": 0, "clonesRunning": 0, "walArchiveBytes": 0, "health": "ok", "problems": []}
            """.utf8))
        func level() -> HealthCheck.Level? {
            HealthCheck.evaluate(s, oldestSnapshotRedoPresent: true, limits: .init(), now: now).first { $0.name == "last verification" }?.level
        }
        XCTAssertEqual(level(), .ok, "a young container is not overdue")
        s.oldestRestorableTime = now.addingTimeInterval(-9 * 86400)
        XCTAssertEqual(level(), .warning, "none yet, and the first snapshot is older than 8 days")
        let passed = VerifyRecord(startedAt: now.addingTimeInterval(-3600), finishedAt: now.addingTimeInterval(-3500), durationSeconds: 100,
                                  result: .passed, restore: true, snapshots: ["S"], problemCount: 0, summary: "passed")
        s.lastVerify = passed
        XCTAssertEqual(level(), .ok)
        s.lastVerify?.finishedAt = now.addingTimeInterval(-9 * 86400)
        XCTAssertEqual(level(), .warning, "older than --verify-max-age")
        s.lastVerify = passed
        s.lastVerify?.result = .failed
        XCTAssertEqual(level(), .critical)

        s.lastVerify = passed
        let text = ContainerMetrics.render([.init(path: "/c", status: s)])
        XCTAssertTrue(text.contains("pgarchive_verify_last_result{container=\"/c\"} 0\n"), text)
        XCTAssertTrue(text.contains("pgarchive_verify_last_run_timestamp_seconds{container=\"/c\"} \(Int(now.timeIntervalSince1970) - 3500)\n"), text)
        XCTAssertTrue(text.contains("pgarchive_verify_last_restore{container=\"/c\"} 1\n"), text)
    }
}
