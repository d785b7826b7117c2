import CLZ4
import Foundation
import Logging
@testable import PGArchiveCore
import Postgres
import WALCodec
import XCTest

/// WAL compression without servers: round trips through zstd, lz4 and gzip, what each format
/// carries, corruption always reported (never wrong bytes), `fetch` of compressed segments, and
/// the crash-safety states of `wal compress` set up directly on disk.
/// (Corruption and fetch: WALCompressionCorruptionTests.swift; compressing an archive:
/// WALArchiveCompressionTests.swift.)
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
