import Foundation
@testable import PGArchiveCore
import Postgres
import XCTest

/// Retention as pure functions over hand-made snapshot metadata and an explicit clock:
/// expiry, daily thinning (by UTC and by local days), which WAL may go, and the crontab
/// block `container initcron` writes.
final class RetentionTests: XCTestCase {
    // MARK: helpers

    /// `2026-03-10T00:10:00Z` as a Date (fixed instants only; no clock is read).
    func utc(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> Date {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        guard let date = formatter.date(from: text) else {
            XCTFail("bad test time \(text)", file: file, line: line)
            return Date(timeIntervalSince1970: 0)
        }
        return date
    }

    /// A snapshot whose restartpoint was at `time` (named after it, as `snapshot create` does).
    func snapshot(_ time: String, redo: LSN = LSN(0x0300_0028), timeline: UInt32 = 1,
                  segmentSize: UInt64 = defaultWALSegmentSize) -> SnapshotMetadata {
        let checkpoint = utc(time)
        return SnapshotMetadata(
            name: time, takenAt: checkpoint.addingTimeInterval(2), redoLSN: redo,
            redoWALFile: redo.walFileName(timeline: timeline, segmentSize: segmentSize),
            timeline: timeline, checkpointTime: checkpoint, minimumRecoveryPoint: nil,
            replayedLSN: LSN(redo.value + 0x100), consistentFrom: checkpoint, nextXID: "0:1000",
            systemIdentifier: "7300000000000000001", walSegmentSize: segmentSize, pgarchiveVersion: "test")
    }

    func entries(_ names: [String], file: StaticString = #filePath, line: UInt = #line) -> [WALArchive.Entry] {
        names.compactMap { name in
            guard let parsed = WALFileName.parse(name) else {
                XCTFail("\(name) is not a WAL archive file name", file: file, line: line)
                return nil
            }
            return WALArchive.Entry(name: parsed, path: "/archive/wal_archive/" + name, size: 16 << 20,
                                    modified: Date(timeIntervalSince1970: 1_700_000_000))
        }
    }

    func names(_ decisions: [Retention.Decision]) -> [String] { decisions.map(\.name) }
    func names(_ entries: [WALArchive.Entry]) -> [String] { entries.map(\.name.fileName) }

    // MARK: expire

    func testExpireNeverDeletesTheNewestEvenWhenAllAreOlderThanTheBound() {
        let all = [snapshot("2026-01-03T07:00:00Z"), snapshot("2026-01-01T07:00:00Z"), snapshot("2026-01-02T07:00:00Z")]
        let decisions = Retention.expire(all, before: utc("2026-03-01T00:00:00Z"))
        XCTAssertEqual(names(decisions), ["2026-01-01T07:00:00Z", "2026-01-02T07:00:00Z"],
                       "all are older than the bound, but the newest must stay")
        // A single snapshot, however old, is never expired; nothing to expire in an empty list.
        XCTAssertEqual(Retention.expire([snapshot("2020-01-01T00:00:00Z")], before: utc("2026-03-01T00:00:00Z")), [])
        XCTAssertEqual(Retention.expire([], before: utc("2026-03-01T00:00:00Z")), [])
    }

    func testExpireDeletesExactlyThoseStrictlyOlderThanTheBound() {
        let bound = utc("2026-02-01T12:00:00Z")
        let all = [
            snapshot("2026-02-01T12:00:00Z"), // exactly at the bound: kept
            snapshot("2026-01-15T00:00:00Z"),
            snapshot("2026-02-01T11:59:59Z"), // one second before: expired
            snapshot("2026-02-03T08:00:00Z"),
            snapshot("2026-01-31T23:00:00Z"),
            snapshot("2026-02-02T08:00:00Z"),
        ]
        let decisions = Retention.expire(all, before: bound)
        XCTAssertEqual(names(decisions), ["2026-01-15T00:00:00Z", "2026-01-31T23:00:00Z", "2026-02-01T11:59:59Z"])
        for decision in decisions {
            XCTAssertTrue(decision.reason.contains("2026-02-01T12:00:00Z"), decision.reason)
        }
        // The same bound against the survivors deletes nothing more: expiry is idempotent.
        let doomed = Set(names(decisions))
        XCTAssertEqual(Retention.expire(all.filter { !doomed.contains($0.name) }, before: bound), [])
    }

    // MARK: thin

    /// A = 2026-03-09 22:00Z … F = 2026-03-10 15:30Z are older than the bound
    /// (2026-03-11 00:00Z); G and H are newer and on one day, so thinning must not touch them.
    /// In UTC, A B fall on the 9th and C D E F on the 10th; in New York (EDT, UTC-4, DST
    /// began 2026-03-08) A B C D fall on the 9th and E F on the 10th; in Tokyo (UTC+9)
    /// A–E fall on the 10th and F on the 11th.
    let thinBound = "2026-03-11T00:00:00Z"
    var thinSnapshots: [SnapshotMetadata] {
        [
            "2026-03-10T12:00:00Z", // E
            "2026-03-09T22:00:00Z", // A
            "2026-03-11T06:00:00Z", // H (newer than the bound)
            "2026-03-09T23:30:00Z", // B
            "2026-03-10T00:10:00Z", // C
            "2026-03-11T05:00:00Z", // G (newer than the bound)
            "2026-03-10T01:00:00Z", // D
            "2026-03-10T15:30:00Z", // F
        ].map { snapshot($0) }
    }

    func testThinKeepsTheFirstOfEachUTCDayAcrossMidnightAndLeavesNewerAlone() {
        let decisions = Retention.thin(thinSnapshots, before: utc(thinBound))
        // Kept: A (first of the 9th) and C (first of the 10th, 10 minutes after midnight).
        XCTAssertEqual(names(decisions), ["2026-03-09T23:30:00Z", "2026-03-10T01:00:00Z", "2026-03-10T12:00:00Z", "2026-03-10T15:30:00Z"])
        XCTAssertEqual(names(Retention.thin(thinSnapshots, before: utc(thinBound), timeZone: TimeZone(identifier: "UTC")!)), names(decisions),
                       "the default time zone is UTC")
        XCTAssertTrue(decisions[0].reason.contains("2026-03-09"), decisions[0].reason)
        XCTAssertTrue(decisions[1].reason.contains("2026-03-10"), decisions[1].reason)
        // Thinning the survivors again changes nothing.
        let doomed = Set(names(decisions))
        XCTAssertEqual(Retention.thin(thinSnapshots.filter { !doomed.contains($0.name) }, before: utc(thinBound)), [])
    }

    func testThinGroupsByLocalDaysInNewYork() throws {
        let newYork = try XCTUnwrap(TimeZone(identifier: "America/New_York"))
        let decisions = Retention.thin(thinSnapshots, before: utc(thinBound), timeZone: newYork)
        // Kept: A (18:00 EDT on the 9th) and E (08:00 EDT on the 10th).
        XCTAssertEqual(names(decisions), ["2026-03-09T23:30:00Z", "2026-03-10T00:10:00Z", "2026-03-10T01:00:00Z", "2026-03-10T15:30:00Z"])
        XCTAssertTrue(decisions[2].reason.contains("2026-03-09"), "C and D are on the 9th in New York: \(decisions[2].reason)")
        XCTAssertTrue(decisions[3].reason.contains("2026-03-10"), decisions[3].reason)
    }

    func testThinGroupsByLocalDaysInTokyo() throws {
        let tokyo = try XCTUnwrap(TimeZone(identifier: "Asia/Tokyo"))
        let decisions = Retention.thin(thinSnapshots, before: utc(thinBound), timeZone: tokyo)
        // Kept: A (07:00 JST on the 10th) and F (00:30 JST on the 11th).
        XCTAssertEqual(names(decisions), ["2026-03-09T23:30:00Z", "2026-03-10T00:10:00Z", "2026-03-10T01:00:00Z", "2026-03-10T12:00:00Z"])
        for decision in decisions { XCTAssertTrue(decision.reason.contains("2026-03-10"), decision.reason) }
    }

    func testThinKeepsOneAnHourAfterADayAndOneADayAfterAWeek() {
        // Every 15 minutes from 2026-03-01T00:07Z to 2026-03-10T23:52Z, as cron takes them.
        let start = utc("2026-03-01T00:07:00Z")
        let all = (0..<(10 * 96)).map { i in snapshot(ISO8601.utc(start.addingTimeInterval(Double(i) * 900))) }
        let now = utc("2026-03-11T00:00:00Z")
        let hourlyBefore = now.addingTimeInterval(-86400), dailyBefore = now.addingTimeInterval(-7 * 86400)
        let decisions = Retention.thin(all, hourlyBefore: hourlyBefore, dailyBefore: dailyBefore)
        let doomed = Set(names(decisions))
        let kept = all.filter { !doomed.contains($0.name) }.map(\.name)
        // Days 1-3 (before the daily bound, 2026-03-04T00:00Z): the first of each day.
        XCTAssertEqual(kept.filter { $0 < "2026-03-04" }, ["2026-03-01T00:07:00Z", "2026-03-02T00:07:00Z", "2026-03-03T00:07:00Z"])
        // Then until the hourly bound (2026-03-10T00:00Z): the first of each hour.
        let hourly = kept.filter { $0 >= "2026-03-04" && $0 < "2026-03-10" }
        XCTAssertEqual(hourly.count, 6 * 24)
        XCTAssertTrue(hourly.allSatisfy { $0.hasSuffix(":07:00Z") }, "\(hourly.prefix(5))")
        // The last day: every one of them.
        XCTAssertEqual(kept.filter { $0 >= "2026-03-10" }.count, 96)
        XCTAssertEqual(kept.count, 3 + 6 * 24 + 96)
        XCTAssertEqual(decisions.count, all.count - kept.count, "each snapshot is decided once")
        XCTAssertTrue(decisions.first { $0.name == "2026-03-01T00:22:00Z" }?.reason.contains("one a day") == true)
        XCTAssertEqual(decisions.first { $0.name == "2026-03-05T10:22:00Z" }?.reason, "not the first of 2026-03-05 10:00, thinned to one an hour")
        // Thinning what is left again changes nothing; the daily-only form is the old rule.
        XCTAssertEqual(Retention.thin(all.filter { !doomed.contains($0.name) }, hourlyBefore: hourlyBefore, dailyBefore: dailyBefore), [])
        XCTAssertEqual(Retention.thin(all, hourlyBefore: dailyBefore, dailyBefore: dailyBefore), Retention.thin(all, before: dailyBefore))
    }

    func testThinLeavesASnapshotExactlyAtTheBoundAlone() {
        let all = [snapshot("2026-03-10T01:00:00Z"), snapshot("2026-03-10T05:00:00Z"), snapshot("2026-03-10T09:00:00Z")]
        XCTAssertEqual(names(Retention.thin(all, before: utc("2026-03-10T09:00:00Z"))), ["2026-03-10T05:00:00Z"])
        XCTAssertEqual(Retention.thin(all, before: utc("2026-03-10T01:00:00Z")), [])
    }

    // MARK: WAL

    func testWALToDeleteAcrossATimelineSwitch() {
        let archive = entries([
            "000000010000000000000003.zst",
            "000000010000000000000004",
            "000000010000000000000005",
            "000000010000000000000005.partial",
            "00000002.history",
            "000000020000000000000005",
            "000000020000000000000006",
            "000000020000000000000007.zst",
            "000000020000000000000008.partial",
        ])
        // The cutoff (a REDO point) lies in segment 6 of timeline 2.
        let cutoff = LSN(0x0600_0028)
        let deleted = Retention.walToDelete(archive, cutoff: cutoff, segmentSize: defaultWALSegmentSize)
        XCTAssertEqual(Set(names(deleted)), ["000000010000000000000003.zst", "000000010000000000000004",
                                             "000000010000000000000005", "000000020000000000000005"])
        let kept = Set(names(archive)).subtracting(names(deleted))
        XCTAssertEqual(kept, ["000000010000000000000005.partial", "00000002.history", "000000020000000000000006",
                              "000000020000000000000007.zst", "000000020000000000000008.partial"])
        // Deleted paths are those of the entries (nothing invented).
        XCTAssertEqual(Set(deleted.map(\.path)), Set(names(deleted).map { "/archive/wal_archive/" + $0 }))
    }

    func testWALCutoffAtSegmentBoundaries() {
        let archive = entries(["000000010000000000000004", "000000010000000000000005", "000000010000000000000006"])
        // Exactly at the start of segment 6: segment 5 is wholly before it.
        XCTAssertEqual(names(Retention.walToDelete(archive, cutoff: LSN(0x0600_0000), segmentSize: defaultWALSegmentSize)),
                       ["000000010000000000000004", "000000010000000000000005"])
        // The last byte of segment 5: segment 5 is still needed.
        XCTAssertEqual(names(Retention.walToDelete(archive, cutoff: LSN(0x05FF_FFFF), segmentSize: defaultWALSegmentSize)),
                       ["000000010000000000000004"])
        XCTAssertEqual(Retention.walToDelete(archive, cutoff: .zero, segmentSize: defaultWALSegmentSize), [])
        // Across the 4 GiB boundary of the "log" part of the name (segment 0xFF → 1/00).
        let wide = entries(["0000000100000000000000FE", "0000000100000000000000FF", "000000010000000100000000", "000000010000000100000001"])
        XCTAssertEqual(names(Retention.walToDelete(wide, cutoff: LSN("1/10")!, segmentSize: defaultWALSegmentSize)),
                       ["0000000100000000000000FE", "0000000100000000000000FF"])
    }

    func testWALToDeleteWithOneMebibyteSegments() {
        let mib: UInt64 = 1 << 20
        // With 1 MiB segments a "log" holds 4096 segments: …00000FFF is segment 4095 and
        // …0000000100000000 is segment 4096.
        let archive = entries([
            "000000010000000000000FFE", // 4094
            "000000010000000000000FFF", // 4095
            "000000010000000100000000", // 4096
            "000000010000000100000000.partial",
            "000000010000000100000001", // 4097: holds the cutoff
            "000000010000000100000002", // 4098
            "000000010000000000001000", // not a name a 1 MiB cluster writes: never deleted
        ])
        let cutoff = LSN("1/180000")! // 1.5 MiB into log 1: segment 4097
        XCTAssertEqual(cutoff.segmentNumber(segmentSize: mib), 4097)
        XCTAssertEqual(names(Retention.walToDelete(archive, cutoff: cutoff, segmentSize: mib)),
                       ["000000010000000000000FFE", "000000010000000000000FFF", "000000010000000100000000"])
        // The same cutoff read with 16 MiB arithmetic would be segment 256 and keep 4094–4096:
        // the segment size really is used.
        XCTAssertNotEqual(names(Retention.walToDelete(archive, cutoff: cutoff, segmentSize: defaultWALSegmentSize)),
                          names(Retention.walToDelete(archive, cutoff: cutoff, segmentSize: mib)))
        // 64 MiB segments: a log holds 64; segment 0x3F is the last of log 0.
        let big: UInt64 = 64 << 20
        let bigArchive = entries(["00000001000000000000003E", "00000001000000000000003F", "000000010000000100000000"])
        XCTAssertEqual(names(Retention.walToDelete(bigArchive, cutoff: LSN("1/0")!, segmentSize: big)),
                       ["00000001000000000000003E", "00000001000000000000003F"])
    }

    func testOldestNeededLSNFromSeveralSnapshotsDrivesWALDeletion() {
        XCTAssertNil(Retention.oldestNeededLSN([]), "nothing known: no WAL may be deleted")
        // Three kept snapshots on timeline 2, plus the standby's own REDO point; unsorted.
        let kept = [
            snapshot("2026-03-10T09:00:00Z", redo: LSN(0x0900_0028), timeline: 2),
            snapshot("2026-03-10T06:00:00Z", redo: LSN(0x0600_0060), timeline: 2),
            snapshot("2026-03-10T07:30:00Z", redo: LSN(0x0780_0000), timeline: 2),
        ]
        let standbyRedo = LSN(0x0A00_1000)
        let cutoff = Retention.oldestNeededLSN(kept.map(\.redoLSN) + [standbyRedo])
        XCTAssertEqual(cutoff, LSN(0x0600_0060))
        let oldest = kept.min { $0.checkpointTime < $1.checkpointTime }!
        XCTAssertEqual(oldest.redoSegment.fileName, "000000020000000000000006")

        let archive = entries([
            "000000010000000000000004", "000000010000000000000005", "000000010000000000000005.partial",
            "00000002.history", "000000020000000000000005", "000000020000000000000006",
            "000000020000000000000007", "000000020000000000000008", "000000020000000000000009",
        ])
        let deleted = Retention.walToDelete(archive, cutoff: cutoff!, segmentSize: defaultWALSegmentSize)
        XCTAssertEqual(Set(names(deleted)), ["000000010000000000000004", "000000010000000000000005", "000000020000000000000005"])
        // Every segment from the oldest kept snapshot's REDO segment on survives (invariant 3).
        let survivors = Set(names(archive)).subtracting(names(deleted))
        for needed in ["000000020000000000000006", "000000020000000000000007", "000000020000000000000008",
                       "000000020000000000000009", "00000002.history"] {
            XCTAssertTrue(survivors.contains(needed), "\(needed) is needed by a kept snapshot but would be deleted")
        }
    }

    func testExpireThenWALCutoffKeepsWhatTheOldestKeptSnapshotNeeds() {
        // Five daily snapshots, REDO points one segment apart; expire those before day 3.
        let all = (1...5).map { day in
            snapshot(String(format: "2026-04-%02dT03:00:00Z", day), redo: LSN(UInt64(day) * (16 << 20) + 0x28))
        }
        let decisions = Retention.expire(all, before: utc("2026-04-03T00:00:00Z"))
        XCTAssertEqual(names(decisions), ["2026-04-01T03:00:00Z", "2026-04-02T03:00:00Z"])
        let doomed = Set(names(decisions))
        let kept = all.filter { !doomed.contains($0.name) }
        let cutoff = Retention.oldestNeededLSN(kept.map(\.redoLSN))!
        let archive = entries((0...6).map { String(format: "0000000100000000%08X", $0) })
        XCTAssertEqual(names(Retention.walToDelete(archive, cutoff: cutoff, segmentSize: defaultWALSegmentSize)),
                       ["000000010000000000000000", "000000010000000000000001", "000000010000000000000002"])
    }

    // MARK: crontab block

    static let executable = "/usr/local/bin/pgarchive"

    func entryLines(_ block: String) -> [String] {
        block.split(separator: "\n").map(String.init).filter { $0.contains(" cron ") && !$0.hasPrefix("# written") }
    }

    func testRenderCommentedAndEnabled() {
        let commented = CronBlock.render(container: "/srv/pgarchive/main", executable: Self.executable, enabled: false)
        let enabled = CronBlock.render(container: "/srv/pgarchive/main", executable: Self.executable, enabled: true)
        for block in [commented, enabled] {
            let lines = block.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            XCTAssertEqual(lines.first, "# BEGIN pgarchive /srv/pgarchive/main")
            XCTAssertEqual(lines.last, "# END pgarchive /srv/pgarchive/main")
            XCTAssertEqual(lines.filter { $0 == CronBlock.begin("/srv/pgarchive/main") }.count, 1)
            XCTAssertEqual(lines.filter { $0 == CronBlock.end("/srv/pgarchive/main") }.count, 1)
        }
        let commentedEntries = entryLines(commented), enabledEntries = entryLines(enabled)
        XCTAssertEqual(commentedEntries.count, Container.cronJobs.count, commented)
        XCTAssertEqual(enabledEntries.count, Container.cronJobs.count, enabled)
        for line in commentedEntries { XCTAssertTrue(line.hasPrefix("#"), "not commented out: \(line)") }
        for line in enabledEntries { XCTAssertFalse(line.hasPrefix("#"), "still commented out: \(line)") }
        XCTAssertEqual(commentedEntries, enabledEntries.map { "#" + $0 }, "enabling only removes the leading #")
        XCTAssertTrue(commented.contains("--enable"), "the commented block says how to enable it")
        XCTAssertTrue(enabledEntries.contains("*/5 * * * * '/usr/local/bin/pgarchive' cron watchdog --no-wait -C '/srv/pgarchive/main'"),
                      enabled)
        for line in enabledEntries { XCTAssertTrue(line.contains(" --no-wait -C "), line) }
    }

    func testRenderQuotesPathsForTheShell() {
        let block = CronBlock.render(container: "/srv/pg archive/it's", executable: "/opt/my tools/pgarchive", enabled: true)
        let line = entryLines(block)[0]
        XCTAssertTrue(line.hasSuffix("-C '/srv/pg archive/it'\\''s'"), line)
        XCTAssertTrue(line.contains(" '/opt/my tools/pgarchive' cron "), line)
    }

    func testMergeIsIdempotentAndReplacesOnlyItsOwnBlock() {
        let user = "MAILTO=ops@example.com\n# my own job\n0 1 * * * /usr/bin/backup-something\n"
        let otherBlock = CronBlock.render(container: "/srv/pgarchive/main-old", executable: Self.executable, enabled: true)
        let existing = user + otherBlock + "\n15 2 * * * /usr/bin/after-the-blocks\n"

        let commented = CronBlock.render(container: "/srv/pgarchive/main", executable: Self.executable, enabled: false)
        let once = CronBlock.merge(existing, container: "/srv/pgarchive/main", block: commented)
        let twice = CronBlock.merge(once, container: "/srv/pgarchive/main", block: commented)
        XCTAssertEqual(twice, once, "merging the same block twice changes nothing")
        XCTAssertEqual(once, existing + commented + "\n", "a new block is appended, everything else untouched")
        XCTAssertEqual(count(CronBlock.begin("/srv/pgarchive/main"), in: twice), 1)
        XCTAssertEqual(count(CronBlock.end("/srv/pgarchive/main"), in: twice), 1)

        // Enabling replaces the block in place: same position, other lines and blocks intact.
        let enabled = CronBlock.render(container: "/srv/pgarchive/main", executable: Self.executable, enabled: true)
        let replaced = CronBlock.merge(twice, container: "/srv/pgarchive/main", block: enabled)
        XCTAssertEqual(replaced, existing + enabled + "\n")
        XCTAssertEqual(CronBlock.merge(replaced, container: "/srv/pgarchive/main", block: enabled), replaced)
        XCTAssertEqual(count(CronBlock.begin("/srv/pgarchive/main"), in: replaced), 1)
        XCTAssertEqual(count(CronBlock.begin("/srv/pgarchive/main-old"), in: replaced), 1, "the other container's block survives")

        // The other container's block is replaced where it stands, ours stays.
        let otherCommented = CronBlock.render(container: "/srv/pgarchive/main-old", executable: Self.executable, enabled: false)
        let both = CronBlock.merge(replaced, container: "/srv/pgarchive/main-old", block: otherCommented)
        XCTAssertEqual(both, user + otherCommented + "\n15 2 * * * /usr/bin/after-the-blocks\n" + enabled + "\n")
    }

    func testMergeIntoAnEmptyCrontabAndOneWithoutFinalNewline() {
        let block = CronBlock.render(container: "/c", executable: Self.executable, enabled: false)
        XCTAssertEqual(CronBlock.merge("", container: "/c", block: block), block + "\n")
        XCTAssertEqual(CronBlock.merge("0 1 * * * /bin/true", container: "/c", block: block), "0 1 * * * /bin/true\n" + block + "\n")
        // A block in the middle of a crontab without a final newline.
        let middle = "0 1 * * * /bin/true\n" + block + "\n0 2 * * * /bin/false"
        let enabled = CronBlock.render(container: "/c", executable: Self.executable, enabled: true)
        XCTAssertEqual(CronBlock.merge(middle, container: "/c", block: enabled), "0 1 * * * /bin/true\n" + enabled + "\n0 2 * * * /bin/false\n")
    }

    func count(_ line: String, in text: String) -> Int {
        text.split(separator: "\n", omittingEmptySubsequences: false).filter { $0 == line }.count
    }

    /// The cron lines of `text`: job name → (schedule, the words after the executable).
    func cronEntries(_ text: String) -> [String: (schedule: String, arguments: [String])] {
        var result: [String: (schedule: String, arguments: [String])] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard words.count > 7, words[6] == "cron" else { continue }
            let arguments = Array(words[6...]).map { word in
                // The block quotes the container path; the template does not.
                word.hasPrefix("'") && word.hasSuffix("'") ? String(word.dropFirst().dropLast()) : word
            }
            result[words[7]] = (words[0..<5].joined(separator: " "), arguments)
        }
        return result
    }

    func testRenderedSchedulesMatchTheRepositoryTemplate() throws {
        // Tests/PGArchiveCoreTests/RetentionTests.swift → package root → cron/pgarchive.cron.
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let template = try String(contentsOf: root.appendingPathComponent("cron/pgarchive.cron"), encoding: .utf8)
        let fromTemplate = cronEntries(template)
        let fromBlock = cronEntries(CronBlock.render(container: "/srv/pgarchive/main", executable: "/usr/local/bin/pgarchive", enabled: true))
        XCTAssertEqual(fromTemplate.count, Container.cronJobs.count, template)
        XCTAssertEqual(Set(fromTemplate.keys), Set(fromBlock.keys), "the template and initcron install different jobs")
        XCTAssertEqual(Set(fromBlock.keys), Set(Container.cronJobs), "initcron installs every cron job status reports on")
        for (job, entry) in fromBlock {
            guard let expected = fromTemplate[job] else { continue }
            XCTAssertEqual(entry.schedule, expected.schedule, "schedule of \(job): initcron vs cron/pgarchive.cron")
            XCTAssertEqual(entry.arguments, expected.arguments, "arguments of \(job): initcron vs cron/pgarchive.cron")
        }
        // The template's commands are the ones the block installs for its example paths.
        for line in template.split(separator: "\n") where !line.hasPrefix("#") && !line.isEmpty {
            XCTAssertTrue(line.contains("/usr/local/bin/pgarchive cron ") && line.hasSuffix(" --no-wait -C /srv/pgarchive/main"), String(line))
        }
    }
}
