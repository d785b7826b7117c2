import Foundation
import Logging
@testable import PGArchiveCore
import Postgres
import WALCodec
import XCTest

/// Corruption is always reported, never wrong bytes; `fetch` of compressed segments.
extension WALCompressionTests {
    // MARK: - Corruption

    func testFlippedByteInTheMiddleIsCorruptionNeverWrongBytes() throws {
        let dir = try makeDirectory()
        for (label, data) in [("wal-like", Self.walLike(seed: 11)), ("random", Self.randomBytes(1 << 20, seed: 5))] {
            for algorithm in Algorithm.allCases {
                var compressed = try WALCompression.compress(data, algorithm: algorithm)
                for position in [compressed.count / 2, compressed.count / 3, compressed.count - 6] {
                    var damaged = compressed
                    damaged[position] ^= 0x55
                    let reason = assertCorrupt("seg") { () throws(WALCompressionError) in
                        try WALCompression.decompress(damaged, algorithm: algorithm, file: "seg")
                    }
                    print("\(algorithm) \(label), byte \(position) of \(compressed.count) flipped: \(reason ?? "-")")
                }
                compressed[compressed.count / 2] ^= 0xFF
                let path = dir + "/\(label).\(algorithm.rawValue)"
                try write(compressed, to: path)
                assertCorrupt(path) { () throws(WALCompressionError) in
                    try WALCompression.decompress(file: path, algorithm: algorithm, to: dir + "/out")
                }
                XCTAssertFalse(exists(dir + "/out"), "a corrupt file must not leave its output behind")
                assertCorrupt(path) { () throws(WALCompressionError) in
                    try WALCompression.decompressedFile(path, algorithm: algorithm, expectedSize: nil, equals: data)
                }
            }
        }
    }

    func testTruncatedEmptyAndForeignFilesAreCorruption() throws {
        let data = Self.walLike(seed: 12)
        for algorithm in Algorithm.allCases {
            let compressed = try WALCompression.compress(data, algorithm: algorithm)
            for (label, cut) in [("last byte missing", Array(compressed.dropLast())), ("half", Array(compressed.prefix(compressed.count / 2))),
                                 ("header only", Array(compressed.prefix(6))), ("empty", [])] {
                let reason = assertCorrupt("seg") { () throws(WALCompressionError) in
                    try WALCompression.decompress(cut, algorithm: algorithm, file: "seg")
                }
                print("\(algorithm) \(label): \(reason ?? "-")")
            }
            let truncated = assertCorrupt("seg") { () throws(WALCompressionError) in
                try WALCompression.decompress(Array(compressed.dropLast(3)), algorithm: algorithm, file: "seg")
            }
            XCTAssertNotNil(truncated)
            let foreign = assertCorrupt("x") { () throws(WALCompressionError) in
                try WALCompression.decompress(Array("not compressed at all, just text\n".utf8), algorithm: algorithm, file: "x")
            }
            XCTAssertTrue(foreign?.hasPrefix("not a") == true || foreign?.hasPrefix("invalid") == true, foreign ?? "")
        }
        XCTAssertEqual(assertCorrupt("s") { () throws(WALCompressionError) in
            try WALCompression.decompress(Array(try! WALCompression.compress(data, algorithm: .zstd).dropLast(2)), algorithm: .zstd, file: "s")
        }, "truncated frame (the file ends inside a zstd frame)")
        XCTAssertEqual(assertCorrupt("s") { () throws(WALCompressionError) in
            try WALCompression.decompress(Array(try! WALCompression.compress(data, algorithm: .gzip).dropLast(2)), algorithm: .gzip, file: "s")
        }, "truncated stream (the file ends before the gzip trailer)")
    }

    func testSegmentMustDecompressToExactlyTheSegmentSize() throws {
        let short = Self.randomBytes(1 << 20, seed: 1)
        let long = Self.walLike(seed: 1, size: Self.segmentSize + 8192)
        for algorithm in Algorithm.allCases {
            let reason = assertCorrupt("seg") { () throws(WALCompressionError) in
                try WALCompression.decompress(try! WALCompression.compress(short, algorithm: algorithm), algorithm: algorithm,
                                              file: "seg", expectedSize: defaultWALSegmentSize)
            }
            XCTAssertEqual(reason, "decompresses to 1048576 bytes, expected 16777216")
            XCTAssertEqual(assertCorrupt("seg") { () throws(WALCompressionError) in
                try WALCompression.decompress(try! WALCompression.compress(long, algorithm: algorithm), algorithm: algorithm,
                                              file: "seg", expectedSize: defaultWALSegmentSize)
            }, "decompresses to more than the expected 16777216 bytes")
        }
    }

    // MARK: - fetch

    func testFetchServesCompressedSegmentsByteIdentical() throws {
        let dir = try makeDirectory(), out = try makeDirectory()
        let segments = (1...4).map { Self.walLike(seed: UInt64($0)) }
        try write(segments[0], to: dir + "/" + segmentName(1))
        for (i, algorithm) in Algorithm.allCases.enumerated() {
            try write(try WALCompression.compress(segments[i + 1], algorithm: algorithm), to: dir + "/" + segmentName(UInt64(i + 2)) + algorithm.fileSuffix)
        }
        let archive = WALArchive(directory: dir)
        XCTAssertEqual(archive.inferredSegmentSize(), defaultWALSegmentSize)
        for n in 1...4 {
            let source = try archive.fetch(segmentName(UInt64(n)), to: out + "/RECOVERYXLOG", partialOK: false)
            assertBytes(try read(out + "/RECOVERYXLOG"), segments[n - 1], "segment \(n) from \(source)")
            XCTAssertEqual(fileStat(out + "/RECOVERYXLOG").st_mode & 0o777, 0o600)
        }
        XCTAssertEqual(try archive.fetch(segmentName(2), to: out + "/x", partialOK: false), dir + "/" + segmentName(2) + ".zst")
        XCTAssertEqual(try archive.fetch(segmentName(4), to: out + "/x", partialOK: true), dir + "/" + segmentName(4) + ".gz")

        // Plain first (an interrupted compress leaves both), compressed before .partial.
        try write(segments[1], to: dir + "/" + segmentName(2))
        XCTAssertEqual(try archive.fetch(segmentName(2), to: out + "/x", partialOK: false), dir + "/" + segmentName(2))
        try write(Self.walLike(seed: 99), to: dir + "/" + segmentName(3) + ".partial")
        XCTAssertEqual(try archive.fetch(segmentName(3), to: out + "/x", partialOK: true), dir + "/" + segmentName(3) + ".lz4")
        assertBytes(try read(out + "/x"), segments[2])

        // Segments from before a resync, compressed too; history files are never looked up compressed.
        let retired = dir + "/before-resync-2026-01-01T00:00:00Z"
        try FileManager.default.createDirectory(atPath: retired, withIntermediateDirectories: false)
        let old = Self.walLike(seed: 1234)
        try write(try WALCompression.compress(old, algorithm: .zstd), to: retired + "/" + segmentName(0) + ".zst")
        XCTAssertEqual(try archive.fetch(segmentName(0), to: out + "/old", partialOK: false), retired + "/" + segmentName(0) + ".zst")
        assertBytes(try read(out + "/old"), old)
        try write(Array("1\t0/3000000\tno recovery target specified\n".utf8), to: dir + "/00000002.history")
        XCTAssertEqual(try archive.fetch("00000002.history", to: out + "/h", partialOK: false), dir + "/00000002.history")
        assertFetchFails(archive, "00000003.history", to: out + "/h", expected: nil)
    }

    func testFetchOfCorruptOrWrongSizedSegmentFailsAndLeavesNoFile() throws {
        let dir = try makeDirectory(), out = try makeDirectory()
        try write(Self.walLike(seed: 1), to: dir + "/" + segmentName(1))
        for (i, algorithm) in Algorithm.allCases.enumerated() {
            var compressed = try WALCompression.compress(Self.walLike(seed: UInt64(10 + i)), algorithm: algorithm)
            compressed[compressed.count / 2] ^= 0x01
            let path = dir + "/" + segmentName(UInt64(2 + i)) + algorithm.fileSuffix
            try write(compressed, to: path)
            assertFetchFails(WALArchive(directory: dir), segmentName(UInt64(2 + i)), to: out + "/seg", expected: "\(path) is corrupt: ")
            XCTAssertFalse(exists(out + "/seg"))
        }
        // A valid frame of the wrong size: the segment size comes from the plain segment beside it.
        let small = dir + "/" + segmentName(9) + ".zst"
        try write(try WALCompression.compress(Self.randomBytes(1 << 20, seed: 2), algorithm: .zstd), to: small)
        assertFetchFails(WALArchive(directory: dir), segmentName(9), to: out + "/seg",
                         expected: "\(small) is corrupt: decompresses to 1048576 bytes, expected 16777216")
        // …or is given explicitly.
        assertFetchFails(WALArchive(directory: dir, segmentSize: 2 << 20), segmentName(9), to: out + "/seg",
                         expected: "\(small) is corrupt: decompresses to 1048576 bytes, expected 2097152")
        XCTAssertEqual(try WALArchive(directory: dir, segmentSize: 1 << 20).fetch(segmentName(9), to: out + "/seg", partialOK: false), small)
        // Without any plain segment to tell the size, it must at least be a possible segment size.
        unlink(dir + "/" + segmentName(1))
        XCTAssertNil(WALArchive(directory: dir).inferredSegmentSize())
        XCTAssertEqual(try WALArchive(directory: dir).fetch(segmentName(9), to: out + "/seg", partialOK: false), small)
        let odd = dir + "/" + segmentName(10) + ".gz"
        try write(try WALCompression.compress(Self.randomBytes(12345, seed: 3), algorithm: .gzip), to: odd)
        assertFetchFails(WALArchive(directory: dir), segmentName(10), to: out + "/seg",
                         expected: "\(odd) is corrupt: decompresses to 12345 bytes, which is not a WAL segment size")
        XCTAssertFalse(exists(out + "/seg"))
    }

    func assertFetchFails(_ archive: WALArchive, _ name: String, to destination: String, expected: String?, line: UInt = #line) {
        do {
            let source = try archive.fetch(name, to: destination, partialOK: false)
            XCTFail("fetch \(name) served \(source)", line: line)
        } catch {
            switch error {
            case .notFound: XCTAssertNil(expected, "fetch \(name): not found", line: line)
            case .failed(let message):
                guard let expected else { return XCTFail("fetch \(name): \(message), expected not found", line: line) }
                XCTAssertTrue(message.hasPrefix(expected), "\(message) does not start with \(expected)", line: line)
            }
        }
    }
}
