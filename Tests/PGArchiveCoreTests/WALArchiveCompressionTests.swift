import Foundation
import Logging
@testable import PGArchiveCore
import Postgres
import WALCodec
import XCTest

/// The crash-safety states of `wal compress` set up directly on disk, and `Container.compressWAL`.
extension WALCompressionTests {
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
