import CLZ4
import Foundation
import Logging
@testable import PGArchiveCore
import Postgres
import XCTest

/// WAL compression without servers: round trips through zstd, lz4 and gzip, what each format
/// carries, corruption always reported (never wrong bytes), `fetch` of compressed segments, and
/// the crash-safety states of `wal compress` set up directly on disk.
final class WALCompressionTests: XCTestCase {
    typealias Algorithm = WALCompression.Algorithm
    static let segmentSize = Int(defaultWALSegmentSize)

    var directories: [String] = []
    var children: [Process] = []

    override func tearDown() {
        for child in children where child.isRunning { kill(child.processIdentifier, SIGKILL); child.waitUntilExit() }
        for directory in directories { try? FileManager.default.removeItem(atPath: directory) }
        directories = []
        children = []
    }

    // MARK: - Data

    /// Fast deterministic pseudo-random bytes (xorshift64*).
    static func randomBytes(_ count: Int, seed: UInt64) -> [UInt8] {
        var state = seed | 1
        var bytes = [UInt8](repeating: 0, count: count)
        bytes.withUnsafeMutableBytes { buffer in
            var i = 0
            while i < count {
                state ^= state >> 12; state ^= state << 25; state ^= state >> 27
                var word = state &* 0x2545_F491_4F6C_DD1D
                for _ in 0..<min(8, count - i) { buffer[i] = UInt8(truncatingIfNeeded: word); word >>= 8; i += 1 }
            }
        }
        return bytes
    }

    /// A 16 MiB buffer shaped like a WAL segment after `pg_switch_wal()`: a page header on the
    /// first pages, random record data in some pages, zeros after the last record.
    static func walLike(seed: UInt64, size: Int = segmentSize) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: size)
        let page = 8192
        let noise = randomBytes(size / 4, seed: seed)
        var n = 0
        for p in 0..<(size / page) where p < size / page / 3 {
            bytes[p * page] = 0x10; bytes[p * page + 1] = 0xD1 // XLOG_PAGE_MAGIC 0xD110
            if p % 5 == 0 || p % 7 == 3 {
                let length = 1000 + Int(noise[n % noise.count]) * 20
                for i in 0..<length { bytes[p * page + 24 + i] = noise[(n + i) % noise.count] }
                n += length
            }
        }
        return bytes
    }

    func makeDirectory() throws -> String {
        var template = Array((NSTemporaryDirectory() + "/pgarchive-walcompression.XXXXXX").utf8CString)
        guard let result = mkdtemp(&template) else { throw PGArchiveError("mkdtemp failed") }
        let path = String(cString: result)
        directories.append(path)
        return path
    }

    func write(_ bytes: [UInt8], to path: String, mtime: Int? = nil) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        if let mtime {
            var times = [timespec(tv_sec: mtime, tv_nsec: 0), timespec(tv_sec: mtime, tv_nsec: 0)]
            XCTAssertEqual(utimensat(AT_FDCWD, path, &times, 0), 0)
        }
    }

    func read(_ path: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) }

    /// Compares byte arrays without printing megabytes on failure.
    func assertBytes(_ actual: @autoclosure () throws -> [UInt8], _ expected: [UInt8]?, _ message: String = "",
                     file: StaticString = #filePath, line: UInt = #line) {
        do {
            let actual = try actual()
            guard let expected else { return XCTFail("no expected bytes \(message)", file: file, line: line) }
            if actual != expected {
                let first = zip(actual, expected).enumerated().first { $0.element.0 != $0.element.1 }?.offset
                XCTFail("bytes differ: \(actual.count) vs \(expected.count) bytes, first difference at \(first.map(String.init) ?? "the end") \(message)",
                        file: file, line: line)
            }
        } catch {
            XCTFail("threw \(error) \(message)", file: file, line: line)
        }
    }

    func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

    func fileStat(_ path: String) -> stat {
        var st = stat()
        XCTAssertEqual(stat(path, &st), 0, path)
        return st
    }

    func segmentName(_ n: UInt64, timeline: UInt32 = 1) -> String {
        WALFileName(timeline: timeline, segmentNumber: n).fileName
    }

    /// Asserts that `body` throws a corruption error naming `file`, and returns its reason.
    @discardableResult
    func assertCorrupt<T>(_ file: String, _ body: () throws(WALCompressionError) -> T,
                          message: String = "", line: UInt = #line) -> String? {
        do {
            let value = try body()
            XCTFail("expected '\(file) is corrupt: …', got a result: \(type(of: value)) \(message)", line: line)
            return nil
        } catch {
            guard case .corrupt(let named, let reason) = error else {
                XCTFail("expected corruption, got \(error) \(message)", line: line)
                return nil
            }
            XCTAssertEqual(named, file, line: line)
            XCTAssertTrue(error.description.hasPrefix("\(file) is corrupt: "), error.description, line: line)
            return reason
        }
    }

    // MARK: - Round trips and formats

    func testRoundTripEveryAlgorithmOnRandomAndWALLikeData() throws {
        let dir = try makeDirectory()
        let random = Self.randomBytes((1 << 20) * 3 + 4099, seed: 42)
        let wal = Self.walLike(seed: 7)
        for algorithm in Algorithm.allCases {
            for (label, data) in [("random", random), ("wal-like", wal), ("empty", []), ("one byte", [0x5A] as [UInt8])] {
                let compressed = try WALCompression.compress(data, algorithm: algorithm)
                assertBytes(try WALCompression.decompress(compressed, algorithm: algorithm, file: "mem", expectedSize: UInt64(data.count)), data,
                               "\(algorithm) \(label) in memory")
                // Streaming from a file into a file, in 1 MiB steps.
                let source = dir + "/\(label).\(algorithm.rawValue)"
                try write(compressed, to: source)
                XCTAssertEqual(try WALCompression.decompress(file: source, algorithm: algorithm, to: dir + "/out"), UInt64(data.count))
                assertBytes(try read(dir + "/out"), data, "\(algorithm) \(label) file to file")
                XCTAssertEqual(fileStat(dir + "/out").st_mode & 0o777, 0o600)
                XCTAssertTrue(try WALCompression.decompressedFile(source, algorithm: algorithm, expectedSize: nil, equals: data))
                if label == "wal-like" {
                    XCTAssertLessThan(compressed.count, data.count / 4, "\(algorithm) should shrink WAL-like data")
                    print("\(algorithm): 16 MiB WAL-like → \(compressed.count) bytes (ratio \(String(format: "%.1f", Double(data.count) / Double(compressed.count))))")
                }
                if label == "random" { XCTAssertEqual(random.count, data.count) }
            }
        }
    }

    func testEveryFormatCarriesAChecksumAndTheOriginalSize() throws {
        let data = Self.walLike(seed: 3)

        // zstd: magic, frame header descriptor with Content_Checksum_flag and a content size.
        let zstd = try WALCompression.compress(data, algorithm: .zstd)
        XCTAssertEqual(Array(zstd.prefix(4)), [0x28, 0xB5, 0x2F, 0xFD])
        let descriptor = zstd[4]
        XCTAssertEqual(descriptor & 0x04, 0x04, "zstd frame without content checksum")
        let singleSegment = descriptor & 0x20 != 0
        let sizeField = [singleSegment ? 1 : 0, 2, 4, 8][Int(descriptor >> 6)]
        XCTAssertEqual(sizeField, 4, "a 16 MiB content size takes 4 bytes")
        let start = 5 + (singleSegment ? 0 : 1)
        let contentSize = zstd[start..<(start + 4)].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        XCTAssertEqual(contentSize, UInt64(data.count))

        // lz4: magic, FLG with content checksum, block checksums and content size.
        let lz4 = try WALCompression.compress(data, algorithm: .lz4)
        XCTAssertEqual(Array(lz4.prefix(4)), [0x04, 0x22, 0x4D, 0x18])
        let flags = lz4[4]
        XCTAssertEqual(flags & 0x04, 0x04, "lz4 frame without content checksum")
        XCTAssertEqual(flags & 0x08, 0x08, "lz4 frame without content size")
        XCTAssertEqual(flags & 0x10, 0x10, "lz4 frame without block checksums")
        XCTAssertEqual(lz4[6..<14].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }, UInt64(data.count))

        // gzip: magic and deflate, trailer CRC32 and ISIZE of the original.
        let gzip = try WALCompression.compress(data, algorithm: .gzip)
        XCTAssertEqual(Array(gzip.prefix(3)), [0x1F, 0x8B, 0x08])
        let trailer = Array(gzip.suffix(8))
        XCTAssertEqual(trailer[0..<4].reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }, Self.crc32(data))
        XCTAssertEqual(trailer[4..<8].reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }, UInt32(data.count))
    }

    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var table = [UInt32](repeating: 0, count: 256)
        for i in 0..<256 {
            var c = UInt32(i)
            for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
            table[i] = c
        }
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }

    /// pg_receivewal 15 `--compress=lz4` writes frames with default preferences (no checksum,
    /// no content size) and `--compress=gzip` plain gzip; `wal fetch` must serve those too.
    func testFramesWrittenByOtherToolsDecompress() throws {
        let data = Self.walLike(seed: 21)
        var preferences = LZ4F_preferences_t()
        let bound = LZ4F_compressFrameBound(data.count, &preferences)
        var frame = [UInt8](repeating: 0, count: bound)
        let size = frame.withUnsafeMutableBytes { out in
            data.withUnsafeBytes { LZ4F_compressFrame(out.baseAddress, bound, $0.baseAddress, data.count, &preferences) }
        }
        XCTAssertEqual(LZ4F_isError(size), 0)
        frame = Array(frame.prefix(size))
        XCTAssertEqual(frame[4] & 0x0C, 0, "no content size, no checksum")
        assertBytes(try WALCompression.decompress(frame, algorithm: .lz4, file: "f", expectedSize: defaultWALSegmentSize), data)
        // Without a checksum the size check still catches a truncated frame.
        XCTAssertNotNil(assertCorrupt("f") { () throws(WALCompressionError) in
            try WALCompression.decompress(Array(frame.dropLast(4)), algorithm: .lz4, file: "f", expectedSize: defaultWALSegmentSize)
        })

        // gzip(1) output, two members concatenated (as `cat a.gz b.gz` gives).
        let dir = try makeDirectory()
        try write(Array(data.prefix(1 << 20)), to: dir + "/a")
        try write(Array(data.dropFirst(1 << 20)), to: dir + "/b")
        for name in ["a", "b"] {
            let gzip = Process()
            gzip.executableURL = URL(fileURLWithPath: "/bin/gzip")
            gzip.arguments = ["-n", dir + "/" + name]
            try gzip.run()
            gzip.waitUntilExit()
            XCTAssertEqual(gzip.terminationStatus, 0)
        }
        let joined = try read(dir + "/a.gz") + read(dir + "/b.gz")
        assertBytes(try WALCompression.decompress(joined, algorithm: .gzip, file: "g", expectedSize: defaultWALSegmentSize), data)
    }

    /// Our files are standard: the command-line tools read them (where installed), so an
    /// operator can decompress a segment by hand.
    func testCommandLineToolsReadOurFiles() throws {
        let dir = try makeDirectory()
        let data = Self.walLike(seed: 8)
        try write(data, to: dir + "/original")
        for (algorithm, tool) in [(Algorithm.zstd, "/usr/bin/zstd"), (.lz4, "/usr/bin/lz4"), (.gzip, "/bin/gzip")] {
            guard FileManager.default.isExecutableFile(atPath: tool) else { print("\(tool) not installed: skipped"); continue }
            let path = dir + "/seg" + algorithm.fileSuffix
            try write(try WALCompression.compress(data, algorithm: algorithm), to: path)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: tool)
            process.arguments = ["-d", "-c", path]
            let output = Pipe()
            process.standardOutput = output
            try process.run()
            let decompressed = output.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            XCTAssertEqual(process.terminationStatus, 0, tool)
            XCTAssertTrue(decompressed == Data(data), "\(tool) -d gives other bytes")
        }
    }

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

    // MARK: - Compressing an archive

    /// Three segments, one of them from before a resync, a .partial, a history file, a segment
    /// pg_receivewal compressed itself, and a stray file.
    func makeArchive() throws -> (dir: String, segments: [String: [UInt8]]) {
        let dir = try makeDirectory()
        var segments: [String: [UInt8]] = [:]
        for n in 1...3 {
            segments[segmentName(UInt64(n))] = Self.walLike(seed: UInt64(n))
            try write(segments[segmentName(UInt64(n))]!, to: dir + "/" + segmentName(UInt64(n)), mtime: 1_700_000_000 + n)
        }
        try write(Self.walLike(seed: 100), to: dir + "/" + segmentName(4) + ".partial", mtime: 1_700_000_100)
        try write(Array("1\t0/4000000\tno recovery target specified\n".utf8), to: dir + "/00000002.history", mtime: 1_700_000_200)
        try write(try WALCompression.compress(Self.walLike(seed: 0), algorithm: .lz4), to: dir + "/" + segmentName(0) + ".lz4", mtime: 1_700_000_000)
        try write(Array("notes\n".utf8), to: dir + "/README")
        let retired = dir + "/before-resync-2026-01-01T00:00:00Z"
        try FileManager.default.createDirectory(atPath: retired, withIntermediateDirectories: false)
        segments["retired"] = Self.walLike(seed: 50)
        try write(segments["retired"]!, to: retired + "/" + segmentName(7), mtime: 1_690_000_000)
        return (dir, segments)
    }

    func testCompressReplacesCompletedSegmentsAndLeavesEverythingElse() throws {
        let (dir, segments) = try makeArchive()
        let retired = dir + "/before-resync-2026-01-01T00:00:00Z"
        let untouched = [dir + "/" + segmentName(4) + ".partial", dir + "/00000002.history", dir + "/" + segmentName(0) + ".lz4", dir + "/README"]
        let before = try untouched.map { (try read($0), fileStat($0)) }
        let log = CapturedLog()
        let report = try WALArchive(directory: dir).compress(algorithm: .zstd, logger: log.logger)

        XCTAssertEqual(report.compressed, 4)
        XCTAssertEqual(report.bytesBefore, 4 * Int64(Self.segmentSize))
        XCTAssertLessThan(report.bytesAfter, report.bytesBefore / 4)
        XCTAssertGreaterThan(report.ratio, 4)
        XCTAssertEqual(report.failures, [])
        XCTAssertTrue(report.summary.hasPrefix("compressed 4 segments: 64.0 MiB → "), report.summary)
        XCTAssertTrue(report.summary.hasSuffix(" (ratio \(String(format: "%.2f", report.ratio))) with zstd"), report.summary)
        print(report.summary)
        for n in 1...3 {
            let path = dir + "/" + segmentName(UInt64(n))
            XCTAssertFalse(exists(path))
            assertBytes(try WALCompression.decompress(read(path + ".zst"), algorithm: .zstd, file: path, expectedSize: defaultWALSegmentSize),
                           segments[segmentName(UInt64(n))])
            let st = fileStat(path + ".zst")
            XCTAssertEqual(st.st_mode & 0o777, 0o600)
            XCTAssertEqual(st.st_mtim.tv_sec, 1_700_000_000 + n, "the compressed file keeps the segment's time")
        }
        XCTAssertFalse(exists(retired + "/" + segmentName(7)))
        assertBytes(try WALCompression.decompress(read(retired + "/" + segmentName(7) + ".zst"), algorithm: .zstd, file: "r"), segments["retired"])
        for (path, (bytes, st)) in zip(untouched, before) {
            assertBytes(try read(path), bytes, path)
            let now = fileStat(path)
            XCTAssertEqual(now.st_ino, st.st_ino, path)
            XCTAssertEqual(now.st_mtim.tv_sec, st.st_mtim.tv_sec, path)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.contains(".tmp.") }, [])
        // One debug line per file, the summary is the caller's (Container.compressWAL) to log.
        XCTAssertEqual(log.lines.filter { $0.level == .debug && $0.message.hasPrefix("compressed ") }.count, 4, "\(log.lines)")
        XCTAssertFalse(log.lines.contains { $0.level >= .warning }, "\(log.lines)")

        // fetch serves them; a second run finds nothing to do.
        let out = try makeDirectory()
        for n in 1...3 {
            _ = try WALArchive(directory: dir).fetch(segmentName(UInt64(n)), to: out + "/seg", partialOK: false)
            assertBytes(try read(out + "/seg"), segments[segmentName(UInt64(n))])
        }
        let listing = try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
        let again = try WALArchive(directory: dir).compress(algorithm: .zstd, logger: log.logger)
        XCTAssertEqual(again.compressed, 0)
        XCTAssertEqual(again.resolved, 0)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).sorted(), listing)
        XCTAssertEqual(try WALArchive(directory: dir).entries().map(\.name.fileName), [
            "00000002.history", segmentName(0) + ".lz4", segmentName(1) + ".zst", segmentName(2) + ".zst",
            segmentName(3) + ".zst", segmentName(4) + ".partial",
        ])
    }

    func testOriginalBesideVerifiedCompressedCopyIsRemovedAndTheCopyKept() throws {
        let (dir, segments) = try makeArchive()
        let path = dir + "/" + segmentName(2)
        // A run killed between its rename and its unlink.
        try write(try WALCompression.compress(segments[segmentName(2)]!, algorithm: .gzip), to: path + ".gz")
        let inode = fileStat(path + ".gz").st_ino
        let report = try WALArchive(directory: dir).compress(algorithm: .zstd, logger: CapturedLog().logger)
        XCTAssertEqual(report.resolved, 1)
        XCTAssertEqual(report.compressed, 3, "segments 1, 3 and the retired one")
        XCTAssertFalse(exists(path))
        XCTAssertFalse(exists(path + ".zst"), "the verified copy is kept, not compressed again")
        XCTAssertEqual(fileStat(path + ".gz").st_ino, inode)
        XCTAssertTrue(report.summary.contains("removed 1 original already compressed by an interrupted run"), report.summary)
    }

    func testTornOrCorruptCompressedCopyIsReplacedFromTheOriginal() throws {
        let (dir, segments) = try makeArchive()
        let path = dir + "/" + segmentName(3)
        let full = try WALCompression.compress(segments[segmentName(3)]!, algorithm: .zstd)
        try write(Array(full.prefix(full.count / 2)), to: path + ".zst")
        var flipped = try WALCompression.compress(segments[segmentName(3)]!, algorithm: .lz4)
        flipped[flipped.count / 2] ^= 0x10
        try write(flipped, to: path + ".lz4")
        let log = CapturedLog()
        let report = try WALArchive(directory: dir).compress(algorithm: .zstd, logger: log.logger)
        XCTAssertEqual(report.failures, [])
        XCTAssertEqual(report.compressed, 4)
        XCTAssertFalse(exists(path))
        XCTAssertFalse(exists(path + ".lz4"))
        assertBytes(try WALCompression.decompress(read(path + ".zst"), algorithm: .zstd, file: path, expectedSize: defaultWALSegmentSize),
                       segments[segmentName(3)])
        XCTAssertEqual(log.lines.filter { $0.level == .warning && $0.message.contains("is corrupt") }.count, 2, "\(log.lines)")
    }

    func testDifferingCompleteCopiesAreLeftForAHuman() throws {
        let (dir, _) = try makeArchive()
        let path = dir + "/" + segmentName(1)
        try write(try WALCompression.compress(Self.walLike(seed: 777), algorithm: .zstd), to: path + ".zst")
        let report = try WALArchive(directory: dir).compress(algorithm: .zstd, logger: CapturedLog().logger)
        XCTAssertEqual(report.failures, ["\(path) and \(path).zst are both complete but differ; left both for inspection"])
        XCTAssertTrue(exists(path))
        XCTAssertTrue(exists(path + ".zst"))
        XCTAssertEqual(report.compressed, 3)
    }

    func testStaleTemporaryFilesOfDeadRunsAreRemoved() throws {
        let (dir, segments) = try makeArchive()
        // A dead pid: a child that has exited and been reaped.
        let done = Process()
        done.executableURL = URL(fileURLWithPath: "/bin/true")
        try done.run()
        done.waitUntilExit()
        let deadPID = done.processIdentifier
        XCTAssertFalse(Processes.isAlive(deadPID))
        // A live process that is not pgarchive (the pid was reused).
        let sleeper = Process()
        sleeper.executableURL = URL(fileURLWithPath: "/bin/sleep")
        sleeper.arguments = ["60"]
        try sleeper.run()
        children.append(sleeper)
        // A live pgarchive (a copy of sleep named like it) compressing a segment right now.
        let program = dir + "/../pgarchive-\(UUID().uuidString.prefix(8))"
        try FileManager.default.copyItem(atPath: "/bin/sleep", toPath: program)
        defer { unlink(program) }
        let running = Process()
        running.executableURL = URL(fileURLWithPath: program)
        running.arguments = ["60"]
        try running.run()
        children.append(running)
        // Until the child has exec'd, /proc shows no command line.
        for _ in 0..<500 where Processes.commandLine(of: running.processIdentifier) == nil { usleep(10_000) }
        XCTAssertEqual(Processes.commandLine(of: running.processIdentifier)?.first, program)
        // A complete but unrenamed copy, and a torn one.
        let complete = WALArchive.temporaryName(for: segmentName(1) + ".zst", pid: deadPID)
        let torn = WALArchive.temporaryName(for: segmentName(2) + ".lz4", pid: sleeper.processIdentifier)
        let live = WALArchive.temporaryName(for: segmentName(8) + ".zst", pid: running.processIdentifier)
        XCTAssertEqual(WALArchive.temporaryFilePID(complete), deadPID)
        XCTAssertNil(WALArchive.temporaryFilePID(segmentName(1) + ".tmp.12"), "not a compressed name")
        XCTAssertNil(WALArchive.temporaryFilePID(segmentName(1) + ".zst.tmp."))
        let zst = try WALCompression.compress(segments[segmentName(1)]!, algorithm: .zstd)
        try write(zst, to: dir + "/" + complete)
        try write(Array(zst.prefix(100)), to: dir + "/" + torn)
        try write(Array(zst.prefix(100)), to: dir + "/" + live)
        let report = try WALArchive(directory: dir).compress(algorithm: .zstd, logger: CapturedLog().logger)
        XCTAssertEqual(report.staleTemporaryFilesRemoved, 2)
        XCTAssertFalse(exists(dir + "/" + complete))
        XCTAssertFalse(exists(dir + "/" + torn))
        XCTAssertTrue(exists(dir + "/" + live), "a live pgarchive's temporary file stays")
        XCTAssertEqual(report.compressed, 4)
        for n in 1...3 { XCTAssertTrue(exists(dir + "/" + segmentName(UInt64(n)) + ".zst")) }
        XCTAssertEqual(try WALArchive(directory: dir).entries().filter { !$0.name.isPartial && !$0.name.isHistory && $0.name.compression == nil }.count, 0)
    }

    func testSegmentOfTheWrongSizeIsLeftAndReported() throws {
        let (dir, _) = try makeArchive()
        let path = dir + "/" + segmentName(5)
        try write(Self.randomBytes(1000, seed: 9), to: path)
        let report = try WALArchive(directory: dir).compress(algorithm: .lz4, logger: CapturedLog().logger)
        XCTAssertEqual(report.failures, ["\(path) has 1000 bytes, not the segment size 16777216: left uncompressed"])
        XCTAssertEqual(report.compressed, 4)
        XCTAssertEqual(try read(path).count, 1000)
        XCTAssertFalse(exists(path + ".lz4"))
    }

    // MARK: - Container.compressWAL

    func makeContainer(_ compression: String) throws -> (Container, String, [String: [UInt8]], CapturedLog) {
        let root = try makeDirectory()
        let (dir, segments) = try makeArchive()
        try FileManager.default.moveItem(atPath: dir, toPath: root + "/wal_archive")
        var config = ContainerConfig()
        config.walCompression = compression
        let log = CapturedLog()
        return (Container(layout: ContainerLayout(root: root), config: config, logger: log.logger), root + "/wal_archive", segments, log)
    }

    func testNoneDoesNothingAndSaysSo() throws {
        let (container, dir, _, log) = try makeContainer("none")
        try write([1, 2, 3], to: dir + "/" + WALArchive.temporaryName(for: segmentName(1) + ".zst", pid: 999_999_999))
        let listing = try FileManager.default.subpathsOfDirectory(atPath: dir).sorted()
        let report = try container.compressWAL()
        XCTAssertNil(report.algorithm)
        XCTAssertEqual(report.compressed, 0)
        XCTAssertEqual(report.summary, "wal_compression = none: WAL segments are left uncompressed")
        XCTAssertEqual(try FileManager.default.subpathsOfDirectory(atPath: dir).sorted(), listing)
        XCTAssertEqual(log.lines.map(\.message), ["wal_compression = none: WAL segments are left uncompressed"])
        XCTAssertEqual(log.lines.map(\.level), [.info])
    }

    func testContainerUsesTheConfiguredAlgorithmAndLogsASummary() throws {
        for (setting, algorithm) in [("lz4", Algorithm.lz4), ("gzip", .gzip), ("zstd", .zstd)] {
            let (container, dir, segments, log) = try makeContainer(setting)
            let report = try container.compressWAL()
            XCTAssertEqual(report.algorithm, algorithm)
            XCTAssertEqual(report.compressed, 4)
            for n in 1...3 {
                let path = dir + "/" + segmentName(UInt64(n)) + algorithm.fileSuffix
                assertBytes(try WALCompression.decompress(read(path), algorithm: algorithm, file: path, expectedSize: defaultWALSegmentSize),
                               segments[segmentName(UInt64(n))])
            }
            XCTAssertEqual(log.lines.filter { $0.level == .debug }.count, 4)
            XCTAssertEqual(log.lines.filter { $0.level == .info }.map(\.message), [report.summary])
            print("\(setting): \(report.summary)")
        }
    }
}

/// A logger whose lines the test can read.
final class CapturedLog: @unchecked Sendable {
    struct Line: Sendable { var level: Logger.Level; var message: String }
    private let lock = NSLock()
    private var _lines: [Line] = []
    var lines: [Line] { lock.withLock { _lines } }
    func append(_ line: Line) { lock.withLock { _lines.append(line) } }

    var logger: Logger {
        Logger(label: "test") { _ in Handler(log: self) }
    }

    struct Handler: LogHandler {
        let log: CapturedLog
        var logLevel: Logger.Level = .trace
        var metadata: Logger.Metadata = [:]
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) { log.append(Line(level: event.level, message: "\(event.message)")) }
    }
}
