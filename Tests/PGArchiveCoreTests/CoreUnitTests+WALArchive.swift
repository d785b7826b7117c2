import Foundation
import Logging
@testable import PGArchiveCore
import Postgres
import XCTest

/// The WAL archive over a directory of fake files: entries, gaps, fetch.
extension CoreUnitTests {
    // MARK: WALArchive

    /// tl 1 segments 1, 2, 4 (compressed), 5, 6 (partial), timeline 2's history file, stray files.
    private func makeArchive() throws -> (WALArchive, String) {
        let dir = try makeTemporaryDirectory()
        for name in ["000000010000000000000005", "000000010000000000000001", "000000010000000000000006.partial",
                     "00000002.history", "000000010000000000000004.zst", "000000010000000000000002",
                     "README", ".000000010000000000000007.tmp", "00000001000000000000000a", "000000010000000000000002.backup"] {
            try Data("contents of \(name)\n".utf8).write(to: URL(fileURLWithPath: dir + "/" + name))
        }
        return (WALArchive(directory: dir), dir)
    }

    func testWALArchiveEntriesOrder() throws {
        let (archive, dir) = try makeArchive()
        let entries = try archive.entries()
        XCTAssertEqual(entries.map(\.name.fileName), [
            "00000002.history",
            "000000010000000000000001",
            "000000010000000000000002",
            "000000010000000000000004.zst",
            "000000010000000000000005",
            "000000010000000000000006.partial",
        ])
        XCTAssertEqual(entries.first?.path, dir + "/00000002.history")
        XCTAssertEqual(entries.first?.size, Int64("contents of 00000002.history\n".utf8.count))
        XCTAssertEqual(try archive.newestSegment()?.name.fileName, "000000010000000000000006.partial")

        // Same segment: complete before partial; same position: lower timeline first.
        for name in ["000000010000000000000006", "000000020000000000000005", "00000001.history"] {
            try Data(name.utf8).write(to: URL(fileURLWithPath: dir + "/" + name))
        }
        XCTAssertEqual(try archive.entries().map(\.name.fileName), [
            "00000001.history",
            "00000002.history",
            "000000010000000000000001",
            "000000010000000000000002",
            "000000010000000000000004.zst",
            "000000010000000000000005",
            "000000020000000000000005",
            "000000010000000000000006",
            "000000010000000000000006.partial",
        ])
    }

    func testWALArchiveEntriesIncludeRetiredOnRequest() throws {
        let (archive, dir) = try makeArchive()
        try FileManager.default.createDirectory(atPath: dir + "/before-resync-2026-01-02T00:00:00Z", withIntermediateDirectories: false)
        try FileManager.default.createDirectory(atPath: dir + "/before-resync-2026-01-01T00:00:00Z", withIntermediateDirectories: false)
        try Data("old".utf8).write(to: URL(fileURLWithPath: dir + "/before-resync-2026-01-01T00:00:00Z/000000010000000000000000"))
        XCTAssertEqual(archive.retiredDirectories(), [dir + "/before-resync-2026-01-02T00:00:00Z", dir + "/before-resync-2026-01-01T00:00:00Z"])
        XCTAssertFalse(try archive.entries().contains { $0.name.fileName == "000000010000000000000000" })
        let all = try archive.entries(includeRetired: true)
        XCTAssertEqual(all.count, 7)
        XCTAssertEqual(all[1].path, dir + "/before-resync-2026-01-01T00:00:00Z/000000010000000000000000")
    }

    func testWALArchiveMissingSegments() throws {
        let (archive, dir) = try makeArchive()
        XCTAssertEqual(try archive.missingSegments().map(\.fileName), ["000000010000000000000003"])

        try Data().write(to: URL(fileURLWithPath: dir + "/000000010000000000000003.lz4"))
        XCTAssertEqual(try archive.missingSegments(), [], "a compressed segment counts")

        // Each timeline separately; the hole spans a log id boundary (…00FF → …0100 → …0101).
        for name in ["0000000200000000000000FE", "000000020000000100000001.partial"] {
            try Data().write(to: URL(fileURLWithPath: dir + "/" + name))
        }
        XCTAssertEqual(try archive.missingSegments().map(\.fileName), ["0000000200000000000000FF", "000000020000000100000000"])

        XCTAssertThrowsError(try WALArchive(directory: dir + "/absent").missingSegments()) { error in
            XCTAssertTrue("\(error)".hasPrefix("cannot list \(dir)/absent: "), "\(error)")
        }
        XCTAssertEqual(try WALArchive(directory: try makeTemporaryDirectory()).missingSegments(), [])
    }

    func testWALArchiveFetchCopiesCompleteSegmentsAndHistoryFiles() throws {
        let (archive, dir) = try makeArchive()
        let out = try makeTemporaryDirectory()
        // PostgreSQL may hand a path that already exists: it is replaced, not appended to.
        try Data(repeating: 0x41, count: 4096).write(to: URL(fileURLWithPath: out + "/RECOVERYXLOG"))
        let source = try archive.fetch("000000010000000000000002", to: out + "/RECOVERYXLOG", partialOK: false)
        XCTAssertEqual(source, dir + "/000000010000000000000002")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: out + "/RECOVERYXLOG")),
                       try Data(contentsOf: URL(fileURLWithPath: dir + "/000000010000000000000002")))

        XCTAssertEqual(try archive.fetch("00000002.history", to: out + "/RECOVERYHISTORY", partialOK: false), dir + "/00000002.history")
        XCTAssertEqual(try String(contentsOfFile: out + "/RECOVERYHISTORY", encoding: .utf8), "contents of 00000002.history\n")
        XCTAssertEqual(try fileMode(out + "/RECOVERYHISTORY"), 0o600)
    }

    /// A `.partial` cut short while pg_receivewal preallocated it (zeros) is removed before
    /// the next start; one with data in it is kept aside; whole and empty ones stay.
    func testTornPartialsAreSetAsideBeforePgReceiveWALStarts() throws {
        let root = try makeTemporaryDirectory()
        let layout = ContainerLayout(root: root)
        try FileManager.default.createDirectory(atPath: layout.walArchive, withIntermediateDirectories: true)
        let segment = 1 << 20
        func write(_ name: String, _ bytes: [UInt8]) {
            XCTAssertTrue(FileManager.default.createFile(atPath: layout.walArchive + "/" + name, contents: Data(bytes)))
        }
        write("000000010000000000000001", [UInt8](repeating: 7, count: segment))  // tells the segment size
        write("000000010000000000000002.partial", [UInt8](repeating: 0, count: 122_880))
        var withData = [UInt8](repeating: 0, count: 8192)
        withData[100] = 1
        write("000000020000000000000002.partial", withData)
        write("000000030000000000000002.partial", [UInt8](repeating: 5, count: segment))
        write("000000040000000000000002.partial", [])
        let receiver = WALReceiver(layout: layout, config: ContainerConfig())
        receiver.setTornPartialsAside(logger: Logger(label: "test"))
        let names = try FileManager.default.contentsOfDirectory(atPath: layout.walArchive).sorted()
        XCTAssertFalse(names.contains("000000010000000000000002.partial"), "\(names)")
        XCTAssertFalse(names.contains("000000020000000000000002.partial"), "\(names)")
        XCTAssertEqual(names.filter { $0.hasPrefix("000000020000000000000002.partial.torn-") }.count, 1, "\(names)")
        XCTAssertTrue(names.contains("000000030000000000000002.partial"))
        XCTAssertTrue(names.contains("000000040000000000000002.partial"))
        XCTAssertTrue(names.contains("000000010000000000000001"))
        XCTAssertEqual(names.count, 4, "\(names)")
    }

    func testWALArchiveFetchNotFound() throws {
        let (archive, _) = try makeArchive()
        let out = try makeTemporaryDirectory()
        assertFetch(archive, "000000010000000000000003", to: out + "/x", partialOK: false, notFound: true)
        assertFetch(archive, "000000010000000000000003", to: out + "/x", partialOK: true, notFound: true)
        assertFetch(archive, "00000003.history", to: out + "/x", partialOK: true, notFound: true)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/x"))
    }

    func testWALArchiveFetchServesPartialOnlyWhenAllowed() throws {
        let (archive, dir) = try makeArchive()
        let out = try makeTemporaryDirectory()
        assertFetch(archive, "000000010000000000000006", to: out + "/seg", partialOK: false, notFound: true)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/seg"))

        let source = try archive.fetch("000000010000000000000006", to: out + "/seg", partialOK: true)
        XCTAssertEqual(source, dir + "/000000010000000000000006.partial")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: out + "/seg")),
                       try Data(contentsOf: URL(fileURLWithPath: dir + "/000000010000000000000006.partial")))

        // A partial is never offered for a history file.
        try Data().write(to: URL(fileURLWithPath: dir + "/00000003.history.partial"))
        assertFetch(archive, "00000003.history", to: out + "/h", partialOK: true, notFound: true)

        // The complete segment wins over the partial one.
        try Data("complete".utf8).write(to: URL(fileURLWithPath: dir + "/000000010000000000000006"))
        XCTAssertEqual(try archive.fetch("000000010000000000000006", to: out + "/seg", partialOK: true),
                       dir + "/000000010000000000000006")
        XCTAssertEqual(try String(contentsOfFile: out + "/seg", encoding: .utf8), "complete")
    }

    func testWALArchiveFetchRefusesBadNames() throws {
        let (archive, _) = try makeArchive()
        let out = try makeTemporaryDirectory()
        for name in ["../etc/passwd", "000000010000000000000006.partial", "000000010000000000000004.zst",
                     "00000001000000000000000a", "/tmp/000000010000000000000002", "../000000010000000000000002",
                     "000000010000000000000002/", "", "README", "000000010000000000000002.backup", "00000001.history.partial"] {
            assertFetch(archive, name, to: out + "/x", partialOK: true,
                        failed: "'\(name)' is not a WAL segment or timeline history file name")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/x"))
    }

    func testWALArchiveFetchFindsRetiredSegments() throws {
        let (archive, dir) = try makeArchive()
        let retired = dir + "/before-resync-2026-01-01T00:00:00Z"
        try FileManager.default.createDirectory(atPath: retired, withIntermediateDirectories: false)
        try Data("old segment".utf8).write(to: URL(fileURLWithPath: retired + "/000000010000000000000000"))
        let out = try makeTemporaryDirectory()
        XCTAssertEqual(try archive.fetch("000000010000000000000000", to: out + "/seg", partialOK: false),
                       retired + "/000000010000000000000000")
        XCTAssertEqual(try String(contentsOfFile: out + "/seg", encoding: .utf8), "old segment")
    }

    func testWALArchiveFetchReportsCorruptCompressedSegment() throws {
        // The fixture's .zst is plain text: fetch must refuse it, never hand it to PostgreSQL.
        let (archive, dir) = try makeArchive()
        let out = try makeTemporaryDirectory()
        assertFetch(archive, "000000010000000000000004", to: out + "/seg", partialOK: false,
                    failed: "\(dir)/000000010000000000000004.zst is corrupt: not a zstd frame (Unknown frame descriptor)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/seg"))
    }

    func testWALArchiveFetchIOErrorIsFailure() throws {
        let (archive, dir) = try makeArchive()
        assertFetch(archive, "000000010000000000000002", to: dir + "/no-such-dir/seg", partialOK: false,
                    failed: "cannot create \(dir)/no-such-dir/seg: No such file or directory")
    }

    func testFileCopy() throws {
        let dir = try makeTemporaryDirectory()
        var bytes = [UInt8](repeating: 0, count: (1 << 20) * 3 + 17)
        for i in bytes.indices { bytes[i] = UInt8(truncatingIfNeeded: i &* 31 &+ i >> 8) }
        try Data(bytes).write(to: URL(fileURLWithPath: dir + "/big"))
        try FileCopy.clone(from: dir + "/big", to: dir + "/copy")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: dir + "/copy")), Data(bytes))
        XCTAssertEqual(try fileMode(dir + "/copy"), 0o600)

        try Data().write(to: URL(fileURLWithPath: dir + "/empty"))
        try FileCopy.clone(from: dir + "/empty", to: dir + "/copy")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: dir + "/copy")), Data())

        assertPGArchiveError(try FileCopy.clone(from: dir + "/absent", to: dir + "/copy2"),
                             "cannot open \(dir)/absent: No such file or directory")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/copy2"))
    }
}
