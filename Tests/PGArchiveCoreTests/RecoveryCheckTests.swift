import Foundation
import PGArchiveCore
import Postgres
import XCTest

/// Where a recovery ended (the promoted clone's history file) against what was asked for;
/// `wal fetch`'s exit codes; the minimum upstream version. Pure decisions, no server.
final class RecoveryCheckTests: XCTestCase {
    func stop(_ text: String) throws -> RecoveryCheck.Stop { try XCTUnwrap(RecoveryCheck.lastStop(history: text)) }

    func testHistoryFileLastLineIsTheStop() throws {
        // As PostgreSQL 15 writes them: the parent's history copied, then the new line; a time
        // reason ends in "\n", so a blank line follows.
        let s = try stop("1\t0/3000000\tno recovery target specified\n\n2\t0/5000148\tbefore 2026-12-01 22:28:54.014735+00\n\n")
        XCTAssertEqual(s.parentTimeline, 2)
        XCTAssertEqual(s.switchPoint, LSN("0/5000148"))
        XCTAssertEqual(s.reason, "before 2026-12-01 22:28:54.014735+00")
        XCTAssertNil(RecoveryCheck.lastStop(history: "1\tnot-an-lsn\tx\n"))
        XCTAssertNil(RecoveryCheck.lastStop(history: "\n# only a comment\n"))
    }

    func testLatestMustPassTheArchivesLastRecord() throws {
        let expected = RecoveryExpectation(target: .latest, lastRecord: LSN("0/6000A28"), newestSegment: "000000010000000000000006.partial")
        XCTAssertNil(RecoveryCheck.problem(try stop("1\t0/6000A60\tno recovery target specified\n"), expected: expected))
        let short = try XCTUnwrap(RecoveryCheck.problem(try stop("1\t0/4FFFFE8\tno recovery target specified\n"), expected: expected))
        XCTAssertTrue(short.contains("0/4FFFFE8") && short.contains("0/6000A28") && short.contains("000000010000000000000006.partial"), short)
        // Ending exactly at the last record's start means that record was not replayed.
        XCTAssertNotNil(RecoveryCheck.problem(try stop("1\t0/6000A28\tno recovery target specified\n"), expected: expected))
        // Unmeasured: nothing to compare.
        XCTAssertNil(RecoveryCheck.problem(try stop("1\t0/1000000\tno recovery target specified\n"), expected: RecoveryExpectation(target: .latest)))
    }

    func testTargetsMustBeReachedNotPassedByEndOfWAL() throws {
        let endOfWAL = try stop("1\t0/7000000\tno recovery target specified\n")
        let target = try XCTUnwrap(RecoveryCheck.parseTimestamp("2026-12-01 22:00:00+00"))
        for kind: RecoveryTarget in [.time(target), .lsn(LSN("0/6000000")!), .xid(1234), .restorePoint("before_release"), .immediate] {
            XCTAssertNotNil(RecoveryCheck.problem(endOfWAL, expected: RecoveryExpectation(target: kind)), "\(kind) passed by end-of-WAL")
        }
        // Reached, as PostgreSQL records it.
        XCTAssertNil(RecoveryCheck.problem(try stop("1\t0/6000100\tbefore 2026-12-01 22:00:00.5+00\n"), expected: RecoveryExpectation(target: .time(target))))
        XCTAssertNil(RecoveryCheck.problem(try stop("1\t0/6000100\tafter 2026-12-01 23:00:00+01\n"), expected: RecoveryExpectation(target: .time(target))))
        XCTAssertNil(RecoveryCheck.problem(try stop("1\t0/6000100\tafter LSN 0/6000000\n"), expected: RecoveryExpectation(target: .lsn(LSN("0/6000000")!))))
        XCTAssertNil(RecoveryCheck.problem(try stop("1\t0/6000100\tafter transaction 1234"), expected: RecoveryExpectation(target: .xid(1234))))
        XCTAssertNil(RecoveryCheck.problem(try stop("1\t0/6000100\tbefore transaction 1234"), expected: RecoveryExpectation(target: .xid((5 << 32) | 1234))))
        XCTAssertNil(RecoveryCheck.problem(try stop("1\t0/6000100\tat restore point \"before_release\""), expected: RecoveryExpectation(target: .restorePoint("before_release"))))
        XCTAssertNil(RecoveryCheck.problem(try stop("1\t0/6000100\treached consistency"), expected: RecoveryExpectation(target: .immediate)))
        // Stopped, but not where asked.
        XCTAssertNotNil(RecoveryCheck.problem(try stop("1\t0/5000100\tafter LSN 0/5000000\n"), expected: RecoveryExpectation(target: .lsn(LSN("0/6000000")!))))
        XCTAssertNotNil(RecoveryCheck.problem(try stop("1\t0/6000100\tafter transaction 99"), expected: RecoveryExpectation(target: .xid(1234))))
        XCTAssertNotNil(RecoveryCheck.problem(try stop("1\t0/6000100\tat restore point \"other\""), expected: RecoveryExpectation(target: .restorePoint("before_release"))))
        // PostgreSQL 12 promoting at end-of-WAL with a time target records the unset stop time.
        let pg12 = try XCTUnwrap(RecoveryCheck.problem(try stop("1\t0/7000000\tbefore 2000-01-01 00:00:00+00\n"), expected: RecoveryExpectation(target: .time(target))))
        XCTAssertTrue(pg12.contains("before the target"), pg12)
    }

    /// An immediate clone that was restarted without its target (the archive's WAL ended at
    /// the consistent point) recovers to the end of the WAL, so its stop ("no recovery target
    /// specified") is checked as latest; with its target still set it stays immediate.
    func testImmediateCloneRestartedWithoutItsTargetIsCheckedAsLatest() throws {
        let withTarget = "port = 5434\nrecovery_target = 'immediate'\nrecovery_target_action = 'promote'\n"
        let withoutTarget = "port = 5434\nrecovery_target_action = 'promote'\n"
        XCTAssertEqual(Container.effectiveTarget(recorded: .immediate, postgresqlConf: withTarget), .immediate)
        XCTAssertEqual(Container.effectiveTarget(recorded: .immediate, postgresqlConf: withoutTarget), .latest)
        XCTAssertEqual(Container.effectiveTarget(recorded: .immediate, postgresqlConf: nil), .immediate)
        XCTAssertEqual(Container.effectiveTarget(recorded: .lsn(LSN("0/3000000")!), postgresqlConf: withoutTarget), .lsn(LSN("0/3000000")!))
        let stop = try XCTUnwrap(RecoveryCheck.lastStop(history: "1\t0/3000148\tno recovery target specified\n"))
        XCTAssertNotNil(RecoveryCheck.problem(stop, expected: RecoveryExpectation(target: .immediate)))
        XCTAssertNil(RecoveryCheck.problem(stop, expected: RecoveryExpectation(target: .latest, lastRecord: LSN("0/3000110"))))
    }

    func testPostgresTimestampParsing() throws {
        let utc = try XCTUnwrap(RecoveryCheck.parseTimestamp("2026-12-01 22:28:54.014735+00"))
        XCTAssertEqual(utc.timeIntervalSince1970, 1_796_164_134.014735, accuracy: 0.000_001)
        XCTAssertEqual(try XCTUnwrap(RecoveryCheck.parseTimestamp("2026-12-01 23:58:54.014735+01:30")).timeIntervalSince1970, utc.timeIntervalSince1970, accuracy: 0.000_001)
        XCTAssertEqual(try XCTUnwrap(RecoveryCheck.parseTimestamp("2026-12-01 17:28:54-05")).timeIntervalSince1970, 1_796_164_134, accuracy: 0.000_001)
        for bad in ["", "2026-12-01", "2026-12-01 22:28:54.+00", "2026-12-01 22:28:54 UTC", "2026-12-01T22:28:54+00"] {
            XCTAssertNil(RecoveryCheck.parseTimestamp(bad), bad)
        }
    }

    func testLastRecordFromWaldumpOutput() {
        let out = """
        rmgr: Heap        len (rec/tot):     54/    54, tx:        723, lsn: 0/020258C8, prev 0/02025890, desc: INSERT off 4 flags 0x00
        rmgr: Transaction len (rec/tot):    405/   405, tx:        724, lsn: 0/02025908, prev 0/020258C8, desc: COMMIT 2026-12-01 22:28:54.014735 UTC

        """
        XCTAssertEqual(RecoveryCheck.lastRecordStart(waldumpOutput: out), LSN("0/02025908"))
        XCTAssertNil(RecoveryCheck.lastRecordStart(waldumpOutput: "pg_waldump: error: could not find a valid record after 0/3000000\n"))
    }

    func testWALFetchExitCodes() {
        // Only "not in the archive" may exit 1; PostgreSQL treats > 125 as fatal.
        XCTAssertEqual(WALFetchExit.code(for: WALArchive.FetchError.notFound), 1)
        XCTAssertNil(WALFetchExit.message(for: WALArchive.FetchError.notFound, file: "000000010000000000000003"))
        let failures: [any Error] = [
            WALArchive.FetchError.failed("zstd: checksum mismatch in 000000010000000000000003.zst"),
            PGArchiveError("/etc/pgarchive.conf:3: unknown setting 'colour'"),
            PGArchiveError("cannot read /srv/c/pgarchive.conf: permission denied"),
            PGArchiveError("pgarchive must not run as root"),
            CocoaError(.fileReadNoPermission),
        ]
        for error in failures {
            XCTAssertGreaterThan(WALFetchExit.code(for: error), 125, "\(error)")
            let message = WALFetchExit.message(for: error, file: "000000010000000000000003") ?? ""
            XCTAssertTrue(message.hasPrefix("pgarchive wal fetch: ") && message.contains("000000010000000000000003") && message.contains("recovery stops"), message)
        }
        XCTAssertTrue(WALFetchExit.message(for: PGArchiveError("/etc/pgarchive.conf:3: unknown setting 'colour'"), file: "x")!.contains("/etc/pgarchive.conf:3"))
        // The standby (standby mode: a miss never ends its recovery) waits out a container it
        // cannot open instead of shutting down; a broken segment still stops it.
        let refused = PGArchiveError("refusing to use the container: /srv/c/pgarchive.conf has mode 0644")
        XCTAssertEqual(WALFetchExit.code(for: refused, standby: true), 1)
        XCTAssertTrue(WALFetchExit.message(for: refused, file: "x", standby: true)!.contains("the standby waits and asks again"))
        XCTAssertEqual(WALFetchExit.code(for: WALArchive.FetchError.failed("zstd: checksum mismatch"), standby: true), 126)
        XCTAssertNil(WALFetchExit.message(for: WALArchive.FetchError.notFound, file: "x", standby: true))
    }

    func testUpstreamVersionBelow13IsRefused() {
        // No PostgreSQL 12 here: the decision alone. 12 promotes at end-of-WAL when a target is
        // never reached, so it cannot give exact restores.
        let problem = RecoveryCheck.upstreamVersionProblem(major: 12, serverVersion: "12.22")
        XCTAssertNotNil(problem)
        XCTAssertTrue(problem!.contains("12.22") && problem!.contains("PostgreSQL 13 or newer"), problem!)
        XCTAssertNotNil(RecoveryCheck.upstreamVersionProblem(major: 11, serverVersion: "11.9"))
        for major in [13, 14, 15, 16, 17, 18] {
            XCTAssertNil(RecoveryCheck.upstreamVersionProblem(major: major, serverVersion: "\(major).1"))
        }
    }
}
