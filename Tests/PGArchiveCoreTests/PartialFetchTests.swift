import Foundation
@testable import PGArchiveCore
import XCTest

/// `wal fetch --partial-ok` and the segment pg_receivewal is still zero-filling.
final class PartialFetchTests: XCTestCase {
    func testAPartialSegmentOfZerosIsNoWALYet() throws {
        let dir = NSTemporaryDirectory() + "partial-fetch-\(getpid())-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let archive = WALArchive(directory: dir)
        let out = dir + "/out"
        // Mid zero-fill: short, all zeros (a real case: 14475264 of 16777216 bytes).
        XCTAssertTrue(FileManager.default.createFile(atPath: dir + "/000000010000000000000005.partial",
                                                     contents: Data(count: 1_447_526)))
        XCTAssertThrowsError(try archive.fetch("000000010000000000000005", to: out, partialOK: true)) { error in
            guard case WALArchive.FetchError.notFound = error else { return XCTFail("\(error)") }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out), "nothing served")
        // Zero-filled, WAL written at its start: served as it is.
        var bytes = Data(count: 1 << 20)
        bytes[0] = 0x10
        bytes[1] = 0xD1
        XCTAssertTrue(FileManager.default.createFile(atPath: dir + "/000000010000000000000006.partial", contents: bytes))
        XCTAssertEqual(try archive.fetch("000000010000000000000006", to: out, partialOK: true), dir + "/000000010000000000000006.partial")
        XCTAssertEqual(FileManager.default.contents(atPath: out), bytes)
    }
}
