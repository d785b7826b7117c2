import Foundation
@testable import PGArchiveCore
import Postgres
import XCTest

/// SnapshotChooser as a pure function, over metadata built the way `snapshot create` builds
/// it: from a snapshot's pg_controldata output (a real PostgreSQL 15 standby's, with the
/// checkpoint, minimum recovery point and NextXID lines changed) and what the standby said.
final class SnapshotChooserTests: XCTestCase {
    // MARK: helpers

    func utc(_ text: String) -> Date {
        let formatter = ISO8601DateFormatter()
        if text.contains(".") { formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds] }
        return formatter.date(from: text)!
    }

    /// `2026-11-21T09:11:48Z` as pg_controldata prints it in the C locale.
    func controlTime(_ text: String) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE MMM d HH:mm:ss yyyy"
        let date = formatter.string(from: utc(text))
        // %c pads the day with a space: "Sat Nov  1 09:11:48 2026".
        let parts = date.split(separator: " ")
        return parts[2].count == 1 ? "\(parts[0]) \(parts[1])  \(parts[2]) \(parts[3]) \(parts[4])" : date
    }

    func fixture() throws -> String {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "pg_controldata-15-standby-in-archive-recovery",
                                                  withExtension: "txt", subdirectory: "Fixtures"))
        return try String(contentsOf: url, encoding: .utf8)
    }

    /// The snapshot's pg_control: a restartpoint at `checkpoint` with REDO `redo`, consistent
    /// from `minRecovery`, pg_control last written at `modified`.
    func control(checkpoint: String, modified: String, redo: String, minRecovery: String, nextXID: String = "0:726") throws -> ControlData {
        var lines: [String] = []
        for line in try fixture().split(separator: "\n", omittingEmptySubsequences: false) {
            func set(_ label: String, _ value: String) -> String? {
                line.hasPrefix(label + ":") ? label + ":" + String(repeating: " ", count: max(1, 38 - label.count - 1)) + value : nil
            }
            lines.append(set("Time of latest checkpoint", controlTime(checkpoint))
                ?? set("pg_control last modified", controlTime(modified))
                ?? set("Latest checkpoint's REDO location", redo)
                ?? set("Latest checkpoint location", LSN(LSN(redo)!.value + 0x38).description)
                ?? set("Minimum recovery ending location", minRecovery)
                ?? set("Latest checkpoint's NextXID", nextXID)
                ?? String(line))
        }
        return try ControlData.parse(lines.joined(separator: "\n"))
    }

    func snapshot(checkpoint: String, modified: String? = nil, redo: String, minRecovery: String, nextXID: String = "0:726",
                  standby: StandbyReading?) throws -> SnapshotMetadata {
        let control = try control(checkpoint: checkpoint, modified: modified ?? checkpoint, redo: redo,
                                  minRecovery: minRecovery, nextXID: nextXID)
        return SnapshotMetadata(control: control, takenAt: control.lastModified, standby: standby, pgarchiveVersion: "test")
    }

    func choose(_ target: RecoveryTarget, _ snapshots: [SnapshotMetadata], restorePoint: RestorePoint? = nil) throws -> String {
        try SnapshotChooser.choose(for: target, among: snapshots, restorePoint: restorePoint).name
    }

    func error(_ target: RecoveryTarget, _ snapshots: [SnapshotMetadata], restorePoint: RestorePoint? = nil,
               file: StaticString = #filePath, line: UInt = #line) -> String {
        do {
            let name = try choose(target, snapshots, restorePoint: restorePoint)
            XCTFail("chose \(name) for \(target)", file: file, line: line)
            return ""
        } catch {
            return "\(error)"
        }
    }

    // MARK: metadata from pg_control

    func testMetadataComesFromPgControlAndTheStandby() throws {
        let measured = try snapshot(checkpoint: "2026-11-21T09:11:48Z", modified: "2026-11-21T09:11:51Z", redo: "0/3000E20",
                                    minRecovery: "0/4000050", nextXID: "2:726",
                                    standby: StandbyReading(replayedLSN: LSN("0/4000100"), lastCommit: utc("2026-11-21T09:11:50.250Z"),
                                                            xidSnapshot: "8589935318:8589935320:8589935318"))
        XCTAssertEqual(measured.name, "2026-11-21T09:11:48Z")
        XCTAssertEqual(measured.redoLSN, LSN("0/3000E20"))
        XCTAssertEqual(measured.redoWALFile, "000000010000000000000003")
        XCTAssertEqual(measured.minimumRecoveryPoint, LSN("0/4000050"))
        XCTAssertEqual(measured.consistentLSN, LSN("0/4000100"), "the replay position read after the snapshot")
        XCTAssertEqual(measured.consistentFrom, utc("2026-11-21T09:11:50.250Z"), "the last replayed commit")
        XCTAssertEqual(measured.nextFullXID, 2 << 32 | 726)
        XCTAssertEqual(measured.xidSnapshot, "8589935318:8589935320:8589935318")
        XCTAssertEqual(measured.lastReplayedCommit, utc("2026-11-21T09:11:50.250Z"))

        // Nothing measured (standby stopped, snapshot --force): pg_control's own minimum
        // recovery point, and the time pg_control was written (whole seconds, so one more),
        // never the guess "checkpoint + 1 s", which lies before commits replayed after the
        // restartpoint.
        let unmeasured = try snapshot(checkpoint: "2026-11-21T09:11:48Z", modified: "2026-11-21T09:14:02Z", redo: "0/3000E20",
                                      minRecovery: "0/4000050", standby: nil)
        XCTAssertEqual(unmeasured.consistentLSN, LSN("0/4000050"))
        XCTAssertEqual(unmeasured.consistentFrom, utc("2026-11-21T09:14:03Z"))
        XCTAssertNil(unmeasured.xidSnapshot)
        // A running standby that has replayed no commit since it started: the same.
        let noCommit = try snapshot(checkpoint: "2026-11-21T09:11:48Z", modified: "2026-11-21T09:14:02Z", redo: "0/3000E20",
                                    minRecovery: "0/4000050", standby: StandbyReading(replayedLSN: LSN("0/4000100")))
        XCTAssertEqual(noCommit.consistentFrom, utc("2026-11-21T09:14:03Z"))
        // A last commit from before the restartpoint: the checkpoint's second is the floor.
        let oldCommit = try snapshot(checkpoint: "2026-11-21T09:11:48Z", redo: "0/3000E20", minRecovery: "0/4000050",
                                     standby: StandbyReading(lastCommit: utc("2026-11-21T08:00:00Z")))
        XCTAssertEqual(oldCommit.consistentFrom, utc("2026-11-21T09:11:49Z"))
        // Old metadata (no xidSnapshot key) still reads.
        var json = String(decoding: try SnapshotStore.encoder.encode(measured), as: UTF8.self)
        json = json.replacingOccurrences(of: "\"xidSnapshot\"", with: "\"unused\"")
        XCTAssertNil(try SnapshotStore.decoder.decode(SnapshotMetadata.self, from: Data(json.utf8)).xidSnapshot)
    }

    // MARK: targets

    /// Two snapshots: A (08:00, measured) and B (09:11:48, not measured, pg_control written 09:14:02).
    func twoSnapshots() throws -> (SnapshotMetadata, SnapshotMetadata) {
        let a = try snapshot(checkpoint: "2026-11-21T08:00:00Z", redo: "0/2000028", minRecovery: "0/2000100",
                             standby: StandbyReading(replayedLSN: LSN("0/2000200"), lastCommit: utc("2026-11-21T08:00:03Z"),
                                                     xidSnapshot: "700:705:700,702"))
        let b = try snapshot(checkpoint: "2026-11-21T09:11:48Z", modified: "2026-11-21T09:14:02Z", redo: "0/3000E20",
                             minRecovery: "0/4000050", standby: nil)
        return (a, b)
    }

    func testTimeTargetNeedsTheSnapshotConsistentBeforeIt() throws {
        let (a, b) = try twoSnapshots()
        // In the order given or not, the newest reachable one.
        XCTAssertEqual(try choose(.time(utc("2026-11-21T09:20:00Z")), [b, a]), b.name)
        XCTAssertEqual(try choose(.time(utc("2026-11-21T09:14:03Z")), [a, b]), b.name)
        // 09:12: after B's checkpoint + 1 s (today's guess would pick B), but B's pg_control
        // says it became consistent only by 09:14:02: A.
        XCTAssertEqual(try choose(.time(utc("2026-11-21T09:12:00Z")), [a, b]), a.name)
        XCTAssertEqual(try choose(.time(utc("2026-11-21T08:00:03Z")), [a, b]), a.name)
        let message = error(.time(utc("2026-11-21T08:00:02Z")), [a, b])
        XCTAssertTrue(message.contains("is before the oldest snapshot's consistent point: \(a.name) is restorable from 2026-11-21T08:00:03Z on"), message)
    }

    func testLSNTargetNeedsTheSnapshotConsistentBeforeIt() throws {
        let (a, b) = try twoSnapshots()
        XCTAssertEqual(try choose(.lsn(LSN("0/4000050")!), [a, b]), b.name, "B's minimum recovery point, from pg_control")
        XCTAssertEqual(try choose(.lsn(LSN("0/400004F")!), [a, b]), a.name)
        XCTAssertEqual(try choose(.lsn(LSN("0/2000200")!), [a, b]), a.name, "A's measured replay position")
        let message = error(.lsn(LSN("0/20001FF")!), [a, b])
        XCTAssertTrue(message.contains("target LSN 0/20001FF is before the oldest snapshot's consistent point: \(a.name) is restorable from LSN 0/2000200 on"), message)
    }

    func testRestorePointTargetUsesItsRecordedLSN() throws {
        let (a, b) = try twoSnapshots()
        func point(_ lsn: String) -> RestorePoint { RestorePoint(name: "rp", lsn: LSN(lsn)!, createdAt: utc("2026-11-21T09:00:00Z")) }
        XCTAssertEqual(try choose(.restorePoint("rp"), [a, b], restorePoint: point("0/5000000")), b.name)
        XCTAssertEqual(try choose(.restorePoint("rp"), [a, b], restorePoint: point("0/3FFFFFF")), a.name)
        var message = error(.restorePoint("rp"), [a, b], restorePoint: point("0/2000000"))
        XCTAssertTrue(message.contains("restore point 'rp' (LSN 0/2000000) is before the oldest snapshot's consistent point (\(a.name), LSN 0/2000200)"), message)
        message = error(.restorePoint("elsewhere"), [a, b], restorePoint: nil)
        XCTAssertTrue(message.contains("restore point 'elsewhere' was not made through pgarchive"), message)
    }

    func testImmediateAndLatestTakeTheNewestSnapshot() throws {
        let (a, b) = try twoSnapshots()
        XCTAssertEqual(try choose(.immediate, [b, a]), b.name)
        XCTAssertEqual(try choose(.latest, [b, a]), b.name)
        XCTAssertEqual(try choose(.latest, [a]), a.name)
        XCTAssertTrue(error(.latest, []).contains("there are no snapshots to restore from"))
        XCTAssertTrue(error(.immediate, []).contains("`pgarchive snapshot create` takes one"))
    }

    /// Epoch 3; at snapshot P's consistent point everything below 100 was complete and 100
    /// still ran; Q is later (NextXID at its restartpoint 3:100, so the rule "NextXID ≤ xid"
    /// would take Q for 100–109), but by Q's consistent point 100–104 and 106–109 had
    /// committed, 105 still ran.
    func xidSnapshots(epoch: UInt64 = 3) throws -> (SnapshotMetadata, SnapshotMetadata) {
        let e = epoch << 32
        let p = try snapshot(checkpoint: "2026-11-21T08:00:00Z", redo: "0/2000028", minRecovery: "0/2000100", nextXID: "\(epoch):95",
                             standby: StandbyReading(replayedLSN: LSN("0/2000200"), lastCommit: utc("2026-11-21T08:00:03Z"),
                                                     xidSnapshot: "\(e + 100):\(e + 101):\(e + 100)"))
        let q = try snapshot(checkpoint: "2026-11-21T09:00:00Z", redo: "0/3000028", minRecovery: "0/4000100", nextXID: "\(epoch):100",
                             standby: StandbyReading(replayedLSN: LSN("0/4000200"), lastCommit: utc("2026-11-21T09:00:05Z"),
                                                     xidSnapshot: "\(e + 105):\(e + 110):\(e + 105)"))
        return (p, q)
    }

    func testXIDTargetWithEpochNeedsASnapshotConsistentBeforeTheCommit() throws {
        let (p, q) = try xidSnapshots()
        let e: UInt64 = 3 << 32
        XCTAssertEqual(try choose(.xid(e + 104), [p, q]), p.name, "committed before Q was consistent, not yet at P's")
        XCTAssertEqual(try choose(.xid(e + 100), [q, p]), p.name, "running at P's consistent point")
        XCTAssertEqual(try choose(.xid(e + 105), [p, q]), q.name, "still running at Q's consistent point")
        XCTAssertEqual(try choose(.xid(e + 110), [p, q]), q.name, "not assigned yet")
        XCTAssertEqual(try choose(.xid(e + 500), [p, q]), q.name, "after the newest snapshot")
        let message = error(.xid(e + 99), [p, q])
        XCTAssertTrue(message.contains("transaction \(e + 99) had already committed (or aborted) when the oldest snapshot that records its transactions, \(p.name), became consistent"), message)
        // Another epoch's transaction with the same low 32 bits is a different one.
        XCTAssertEqual(try choose(.xid(4 << 32 | 104), [p, q]), q.name)
        XCTAssertTrue(error(.xid(2 << 32 | 104), [p, q]).contains("had already committed"))
    }

    func testXIDTargetWithoutEpochIsTheNearestTransaction() throws {
        let (p, q) = try xidSnapshots()
        XCTAssertEqual(try choose(.xid(104), [p, q]), p.name)
        XCTAssertEqual(try choose(.xid(105), [p, q]), q.name)
        XCTAssertEqual(try choose(.xid(5000), [p, q]), q.name, "assigned after the newest snapshot, same epoch")
        let message = error(.xid(99), [p, q])
        XCTAssertTrue(message.contains("transaction 99 (full id 3:99) had already committed"), message)

        // Resolution around a wraparound: near 3:0x10, xid 0xFFFFFFF0 is epoch 2's.
        XCTAssertEqual(XIDSnapshot.fullXID(0xFFFF_FFF0, near: 3 << 32 | 0x10), 2 << 32 | 0xFFFF_FFF0)
        XCTAssertEqual(XIDSnapshot.fullXID(0x20, near: 2 << 32 | 0xFFFF_FFF0), 3 << 32 | 0x20)
        XCTAssertEqual(XIDSnapshot.fullXID(0x20, near: 3 << 32 | 0x10), 3 << 32 | 0x20)
        XCTAssertEqual(XIDSnapshot.fullXID(0xFFFF_FFF0, near: 0x10), 0xFFFF_FFF0, "no epoch below 0")
        // Epoch 0.
        let (wp, wq) = try xidSnapshots(epoch: 0)
        XCTAssertEqual(try choose(.xid(104), [wp, wq]), wp.name)
    }

    func testXIDTargetSkipsSnapshotsThatDoNotRecordTheirTransactions() throws {
        let (p, q) = try xidSnapshots()
        let unmeasured = try snapshot(checkpoint: "2026-11-21T10:00:00Z", redo: "0/5000028", minRecovery: "0/5000100",
                                      nextXID: "3:90", standby: nil)
        // Its NextXID (3:90) is below every target, but it says nothing about commits.
        XCTAssertEqual(try choose(.xid(3 << 32 | 110), [p, q, unmeasured]), q.name)
        let message = error(.xid(3 << 32 | 110), [unmeasured])
        XCTAssertTrue(message.contains("no snapshot records which transactions it contains"), message)
        XCTAssertTrue(message.contains("\(unmeasured.name) were taken without a running standby (or by an older pgarchive)"), message)
        XCTAssertTrue(message.contains("--snapshot"), message)
    }

    func testXIDSnapshotText() {
        XCTAssertEqual(XIDSnapshot("10:20:12,15"), XIDSnapshot("10:20:15,12"))
        XCTAssertEqual(XIDSnapshot("10:10:")?.running, [])
        for bad in ["", "10", "10:20", "20:10:", "10:20:25", "10:20:x", "a:b:"] { XCTAssertNil(XIDSnapshot(bad), bad) }
        let s = XIDSnapshot("10:20:12,15")!
        XCTAssertTrue(s.isComplete(9))
        XCTAssertTrue(s.isComplete(13))
        XCTAssertFalse(s.isComplete(12))
        XCTAssertFalse(s.isComplete(20))
    }

    // MARK: across timelines

    /// A (timeline 1, 08:00) and B (timeline 2, after a failover switched at 0/3000000).
    /// LSNs keep growing across a switch, so the rules compare positions the same way, and
    /// every plan follows the newest timeline.
    func testChoiceAcrossATimelineSwitch() throws {
        var (a, b) = try twoSnapshots()
        a.timeline = 1
        b.timeline = 2
        XCTAssertEqual(b.redoSegment.description, "000000020000000000000003")
        XCTAssertEqual(try choose(.lsn(LSN("0/3800000")!), [a, b]), a.name, "after the switch, before B is consistent")
        XCTAssertEqual(try choose(.lsn(LSN("0/5000000")!), [b, a]), b.name)
        XCTAssertEqual(try choose(.time(utc("2026-11-21T09:12:00Z")), [a, b]), a.name)
        XCTAssertEqual(try choose(.time(utc("2026-11-21T09:20:00Z")), [a, b]), b.name)
        XCTAssertEqual(try choose(.latest, [b, a]), b.name)
        for target: RecoveryTarget in [.latest, .immediate, .lsn(LSN("0/3800000")!), .time(utc("2026-11-21T09:20:00Z"))] {
            let plan = try RecoveryPlan.resolve(target, snapshot: nil, among: [a, b], restorePoints: [], now: nil)
            XCTAssertEqual(plan.timeline, "latest", "\(target)")
        }
    }

    // MARK: the plan (RecoveryPlan.resolve)

    func plan(_ target: RecoveryTarget, snapshot: SnapshotMetadata? = nil, _ snapshots: [SnapshotMetadata],
              points: [RestorePoint] = [], now: Date? = nil) throws -> RecoveryPlan {
        try RecoveryPlan.resolve(target, snapshot: snapshot, among: snapshots, restorePoints: points, now: now)
    }

    func planError(_ target: RecoveryTarget, snapshot: SnapshotMetadata? = nil, _ snapshots: [SnapshotMetadata],
                   points: [RestorePoint] = [], now: Date? = nil, file: StaticString = #filePath, line: UInt = #line) -> String {
        do {
            let made = try plan(target, snapshot: snapshot, snapshots, points: points, now: now)
            XCTFail("planned \(made.snapshot.name) for \(target)", file: file, line: line)
            return ""
        } catch {
            return "\(error)"
        }
    }

    func testPlanResolvesRestorePointsByName() throws {
        let (a, b) = try twoSnapshots()
        let early = RestorePoint(name: "early", lsn: LSN("0/3000000")!, createdAt: utc("2026-11-21T08:30:00Z"))
        let late = RestorePoint(name: "late", lsn: LSN("0/6000000")!, createdAt: utc("2026-11-21T10:00:00Z"))
        var made = try plan(.restorePoint("early"), [a, b], points: [late, early])
        XCTAssertEqual(made.snapshot.name, a.name)
        XCTAssertEqual(made.restorePoint, early)
        made = try plan(.restorePoint("late"), [a, b], points: [late, early])
        XCTAssertEqual(made, RecoveryPlan(target: .restorePoint("late"), snapshot: b, restorePoint: late))
        // Not made through pgarchive: only with --snapshot, and then without a position.
        XCTAssertTrue(planError(.restorePoint("other"), [a, b], points: [early]).contains("restore point 'other' was not made through pgarchive"))
        made = try plan(.restorePoint("other"), snapshot: a, [], points: [early])
        XCTAssertEqual(made, RecoveryPlan(target: .restorePoint("other"), snapshot: a, restorePoint: nil))
        // A name that cannot be one is refused before any snapshot is looked at.
        XCTAssertTrue(planError(.restorePoint("../x"), snapshot: a, []).contains("invalid restore point name '../x'"))
        XCTAssertTrue(planError(.restorePoint(""), [a, b]).contains("restore point name must not be empty"))
        // Other kinds carry none.
        XCTAssertNil(try plan(.latest, [a, b], points: [early]).restorePoint)
    }

    func testPlanTakesTheExplicitSnapshotForEveryKind() throws {
        let (a, b) = try twoSnapshots()
        let targets: [RecoveryTarget] = [.time(utc("2026-11-21T09:20:00Z")), .lsn(LSN("0/5000000")!), .xid(5000), .immediate, .latest]
        for target in targets {
            XCTAssertEqual(try plan(target, snapshot: a, [a, b]).snapshot.name, a.name, "\(target)")
            XCTAssertEqual(try plan(target, snapshot: a, []).snapshot.name, a.name, "\(target): the list is not needed")
        }
    }

    func testPlanChoosesForEveryKindAndSaysWhenNoSnapshotIsEarlyEnough() throws {
        let (a, b) = try twoSnapshots()
        let (p, q) = try xidSnapshots()
        XCTAssertEqual(try plan(.time(utc("2026-11-21T09:20:00Z")), [a, b]).snapshot.name, b.name)
        XCTAssertEqual(try plan(.lsn(LSN("0/2000200")!), [a, b]).snapshot.name, a.name)
        XCTAssertEqual(try plan(.xid(104), [p, q]).snapshot.name, p.name)
        XCTAssertEqual(try plan(.immediate, [a, b]).snapshot.name, b.name)
        XCTAssertEqual(try plan(.latest, [a, b]).snapshot.name, b.name)
        XCTAssertTrue(planError(.time(utc("2026-11-21T08:00:02Z")), [a, b]).contains("is before the oldest snapshot's consistent point: \(a.name) is restorable from 2026-11-21T08:00:03Z on"))
        XCTAssertTrue(planError(.lsn(LSN("0/20001FF")!), [a, b]).contains("target LSN 0/20001FF is before the oldest snapshot's consistent point"))
        let old = RestorePoint(name: "old", lsn: LSN("0/2000000")!, createdAt: utc("2026-11-21T07:00:00Z"))
        XCTAssertTrue(planError(.restorePoint("old"), [a, b], points: [old]).contains("restore point 'old' (LSN 0/2000000) is before the oldest snapshot's consistent point (\(a.name), LSN 0/2000200)"))
        XCTAssertTrue(planError(.xid(99), [p, q]).contains("transaction 99 (full id 3:99) had already committed"))
        XCTAssertTrue(planError(.latest, []).contains("there are no snapshots to restore from"))
    }

    func testPlanRefusesAFutureTimeOnlyWhenAskedTo() throws {
        let (a, b) = try twoSnapshots()
        let now = utc("2026-11-21T10:00:00Z")
        XCTAssertEqual(planError(.time(utc("2026-11-21T10:01:01Z")), [a, b], now: now), "target 2026-11-21T10:01:01Z is in the future")
        XCTAssertTrue(planError(.time(utc("2026-11-21T10:01:01Z")), snapshot: a, [], now: now).contains("is in the future"), "also with --snapshot")
        XCTAssertEqual(try plan(.time(utc("2026-11-21T10:01:00Z")), [a, b], now: now).snapshot.name, b.name, "a minute's slack")
        XCTAssertEqual(try plan(.time(utc("2026-11-21T10:01:01Z")), [a, b], now: nil).snapshot.name, b.name, "restore --to: left to PostgreSQL")
    }
}
