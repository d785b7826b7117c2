import Foundation
import Logging
import Postgres
@_exported import WALCodec

// MARK: - Compressing the archive

/// The outcome of one `wal compress` run (or `cron compress-wal`).
public struct CompressionReport: Sendable, Equatable {
    /// The algorithm used; `nil` when `wal_compression = none` (nothing was done).
    public var algorithm: WALCompression.Algorithm?
    /// Segments compressed in this run.
    public var compressed = 0
    /// Their size before and after.
    public var bytesBefore: Int64 = 0
    public var bytesAfter: Int64 = 0
    /// Originals that an interrupted run left beside their finished compressed copy: the copy
    /// was verified against the original and the original removed.
    public var resolved = 0
    /// `NAME.zst.tmp.PID` files of runs that died, removed.
    public var staleTemporaryFilesRemoved = 0
    /// Files that could not be compressed (wrong size, I/O error, a compressed copy that differs
    /// from its original…), one message each. They were left as they were.
    public var failures: [String] = []

    public init(algorithm: WALCompression.Algorithm?) { self.algorithm = algorithm }

    /// Original size over compressed size (1 when nothing was compressed).
    public var ratio: Double { bytesAfter > 0 ? Double(bytesBefore) / Double(bytesAfter) : 1 }

    /// One line: `compressed 12 segments: 192.0 MiB → 14.2 MiB (ratio 13.52) with zstd`, plus
    /// what else happened (originals resolved, stale files removed, problems).
    public var summary: String {
        guard let algorithm else { return "wal_compression = none: WAL segments are left uncompressed" }
        var text = "compressed \(compressed) segment\(compressed == 1 ? "" : "s"): \(ByteCount.human(bytesBefore)) → \(ByteCount.human(bytesAfter))"
        if compressed > 0 { text += " (ratio \(String(format: "%.2f", ratio)))" }
        text += " with \(algorithm)"
        if resolved > 0 { text += "; removed \(resolved) original\(resolved == 1 ? "" : "s") already compressed by an interrupted run" }
        if staleTemporaryFilesRemoved > 0 { text += "; removed \(staleTemporaryFilesRemoved) stale temporary file\(staleTemporaryFilesRemoved == 1 ? "" : "s")" }
        if !failures.isEmpty { text += "; \(failures.count) problem\(failures.count == 1 ? "" : "s"), first: \(failures[0])" }
        return text
    }
}

extension WALArchive {
    /// `NAME.zst.tmp.PID`: where a segment's compressed copy is written before it is complete.
    /// Not a WAL file name, so `entries()`, `fetch` and pg_receivewal all ignore it.
    static func temporaryName(for finalName: String, pid: pid_t = getpid()) -> String {
        "\(finalName).tmp.\(pid)"
    }

    /// The pid in a temporary file name written by `compress`, or nil if `name` is not one.
    static func temporaryFilePID(_ name: String) -> pid_t? {
        guard let range = name.range(of: ".tmp.", options: .backwards),
              let final = WALFileName.parse(String(name[..<range.lowerBound])),
              final.compression != nil, !final.isPartial, !final.isHistory,
              final.fileName == String(name[..<range.lowerBound]) else { return nil }
        let digits = name[range.upperBound...]
        guard !digits.isEmpty, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber) else { return nil }
        return pid_t(digits)
    }

    /// A temporary file is stale when the run that writes it is gone: its pid is dead, or now
    /// belongs to a program that is not pgarchive. Removing a live run's file by mistake is
    /// harmless too: that run's rename fails and its original stays.
    static func isStale(pid: pid_t) -> Bool {
        guard Processes.isAlive(pid) else { return true }
        guard let argv = Processes.commandLine(of: pid), let program = argv.first else { return pid != getpid() }
        return !(program as NSString).lastPathComponent.contains("pgarchive")
    }

    /// The segment size of the archive as seen from its uncompressed complete segments in the
    /// main directory (the most common size among at most `sample` of them, if it is a valid
    /// WAL segment size); nil when there are none. pg_receivewal writes every complete segment at
    /// full size; `.partial` files are not used, as they grow while pg_receivewal pads them.
    public func inferredSegmentSize(sample: Int = 16) -> UInt64? {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return nil }
        var counts: [UInt64: Int] = [:]
        var seen = 0
        for file in names {
            guard seen < sample, let name = WALFileName.parse(file), !name.isHistory, !name.isPartial, name.compression == nil else { continue }
            var st = stat()
            guard stat(directory + "/" + file, &st) == 0 else { continue }
            seen += 1
            counts[UInt64(st.st_size), default: 0] += 1
        }
        guard let (size, _) = counts.max(by: { $0.value < $1.value }), WALCompression.isValidSegmentSize(size) else { return nil }
        return size
    }

    /// Compresses every completed segment of the archive (and of its `before-resync-*`
    /// directories) with `algorithm`, leaving `.partial` and `.history` files and files already
    /// compressed alone. Needs no lock: see `compressSegment` for why every step is safe against
    /// a concurrent `wal fetch`, another compress run, pg_receivewal, and kill -9.
    ///
    /// Each segment must have the archive's segment size: `segmentSize` when given, else the one
    /// inferred from the archive, else 16 MiB. Per-file problems are reported in `failures` and
    /// do not stop the run; only an unreadable directory throws.
    public func compress(algorithm: WALCompression.Algorithm, logger: Logger) throws(PGArchiveError) -> CompressionReport {
        let size = segmentSize ?? inferredSegmentSize() ?? defaultWALSegmentSize
        var report = CompressionReport(algorithm: algorithm)
        for dir in [directory] + retiredDirectories() {
            try compressDirectory(dir, algorithm: algorithm, segmentSize: size, logger: logger, report: &report)
        }
        return report
    }

    private func compressDirectory(_ dir: String, algorithm: WALCompression.Algorithm, segmentSize: UInt64,
                                   logger: Logger, report: inout CompressionReport) throws(PGArchiveError) {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: dir) } catch {
            throw PGArchiveError("cannot list \(dir): \(error.localizedDescription)")
        }
        let present = Set(names)
        // Leftovers of runs killed before their rename: never the only copy of anything.
        for name in names.sorted() {
            guard let pid = Self.temporaryFilePID(name), Self.isStale(pid: pid) else { continue }
            if unlink(dir + "/" + name) == 0 {
                report.staleTemporaryFilesRemoved += 1
                logger.debug("removed stale temporary file \(dir)/\(name) (pid \(pid) is gone)")
            } else if errno != ENOENT {
                report.failures.append("cannot remove stale \(dir)/\(name): \(String(cString: strerror(errno)))")
            }
        }
        for file in names.sorted() {
            guard let name = WALFileName.parse(file), name.fileName == file,
                  !name.isPartial, !name.isHistory, name.compression == nil else { continue }
            let compressedCopies = WALCompression.Algorithm.allCases.filter { present.contains(file + $0.fileSuffix) }
            do {
                if try resolve(dir: dir, file: file, compressedCopies: compressedCopies, segmentSize: segmentSize, logger: logger, report: &report) {
                    continue
                }
                try compressSegment(dir: dir, file: file, algorithm: algorithm, segmentSize: segmentSize, logger: logger, report: &report)
            } catch {
                logger.warning("\(error)")
                report.failures.append(error.description)
            }
        }
    }

    /// A segment present both plain and compressed: a run was killed between its rename and its
    /// unlink, or pg_receivewal streamed the segment again. If a compressed copy decompresses
    /// (checksum and size verified) to exactly the original, the original goes. A corrupt copy
    /// goes instead (the original is intact) and the segment is compressed anew. Two valid
    /// copies that differ are left for a human. Returns true when the segment is dealt with.
    private func resolve(dir: String, file: String, compressedCopies: [WALCompression.Algorithm], segmentSize: UInt64,
                         logger: Logger, report: inout CompressionReport) throws(WALCompressionError) -> Bool {
        guard !compressedCopies.isEmpty else { return false }
        let path = dir + "/" + file
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return true } // finished meanwhile by a concurrent run
            throw .failed("cannot open \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw .failed("cannot stat \(path): \(String(cString: strerror(errno)))") }
        let original = try WALCompression.readExactly(fd, size: Int(st.st_size), path: path)
        var verified: String?
        for algorithm in compressedCopies {
            let copy = path + algorithm.fileSuffix
            do throws(WALCompressionError) {
                let same = try WALCompression.decompressedFile(copy, algorithm: algorithm, expectedSize: segmentSize, equals: original)
                if same {
                    verified = copy
                } else {
                    throw WALCompressionError.failed("\(path) and \(copy) are both complete but differ; left both for inspection")
                }
            } catch let error where error.isCorruption {
                logger.warning("\(error); the original \(path) is intact: replacing \(copy)")
                guard unlink(copy) == 0 || errno == ENOENT else {
                    throw .failed("cannot remove corrupt \(copy): \(String(cString: strerror(errno)))")
                }
                try WALCompression.fsyncDirectory(dir)
            }
        }
        guard let verified else { return false } // only corrupt copies (now removed): compress again
        guard unlink(path) == 0 || errno == ENOENT else {
            throw .failed("cannot remove \(path): \(String(cString: strerror(errno)))")
        }
        try WALCompression.fsyncDirectory(dir)
        report.resolved += 1
        logger.debug("removed \(path): \(verified) was verified to hold it (left by an interrupted run)")
        return true
    }

    /// Compresses one completed segment so that a kill -9 at any point leaves the original, the
    /// finished compressed file, or both (which the next run resolves), never a torn file under
    /// a name `wal fetch` serves:
    ///
    /// 1. compress in memory and write `NAME.zst.tmp.PID` (0600, the original's mtime), fsync;
    /// 2. decompress that file again and compare with the original bytes;
    /// 3. rename it to `NAME.zst` (atomic), fsync the directory;
    /// 4. unlink `NAME`, fsync the directory.
    ///
    /// `wal fetch` opens `NAME` first and `NAME.zst` only if `NAME` does not exist; as `NAME.zst`
    /// is complete before `NAME` disappears, a fetch running alongside always finds one of them.
    private func compressSegment(dir: String, file: String, algorithm: WALCompression.Algorithm, segmentSize: UInt64,
                                 logger: Logger, report: inout CompressionReport) throws(WALCompressionError) {
        let path = dir + "/" + file
        let final = path + algorithm.fileSuffix
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return } // compressed by a concurrent run, or expired
            throw .failed("cannot open \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw .failed("cannot stat \(path): \(String(cString: strerror(errno)))") }
        guard UInt64(st.st_size) == segmentSize else {
            throw .failed("\(path) has \(st.st_size) bytes, not the segment size \(segmentSize): left uncompressed")
        }
        let original = try WALCompression.readExactly(fd, size: Int(st.st_size), path: path)
        let compressed = try WALCompression.compress(original, algorithm: algorithm)

        let temporary = dir + "/" + Self.temporaryName(for: file + algorithm.fileSuffix)
        let out = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard out >= 0 else { throw .failed("cannot create \(temporary): \(String(cString: strerror(errno)))") }
        do throws(WALCompressionError) {
            try WALCompression.writeAll(out, compressed, path: temporary)
            var times = [st.st_atim, st.st_mtim]
            _ = futimens(out, &times)
            FaultInjection.point("compress-wal-writing")
            guard fsync(out) == 0 else { throw WALCompressionError.failed("cannot fsync \(temporary): \(String(cString: strerror(errno)))") }
            guard close(out) == 0 else { throw WALCompressionError.failed("cannot write \(temporary): \(String(cString: strerror(errno)))") }
        } catch {
            close(out)
            unlink(temporary)
            throw error
        }
        do throws(WALCompressionError) {
            // Read back what is on disk, not the buffer in memory.
            let same = try WALCompression.decompressedFile(temporary, algorithm: algorithm, expectedSize: segmentSize, equals: original)
            guard same else { throw WALCompressionError.failed("\(temporary) does not decompress to \(path); left \(path) uncompressed") }
            // The original may have been unlinked meanwhile, by expiry or by a concurrent run that
            // finished it: then a compressed copy would resurrect an expired segment, or is redundant.
            var now = stat()
            if fstat(fd, &now) == 0 && now.st_nlink == 0 {
                unlink(temporary)
                return
            }
            guard rename(temporary, final) == 0 else {
                throw WALCompressionError.failed("cannot rename \(temporary) to \(final): \(String(cString: strerror(errno)))")
            }
        } catch {
            unlink(temporary)
            throw error
        }
        try WALCompression.fsyncDirectory(dir)
        FaultInjection.point("compress-wal-renamed")
        guard unlink(path) == 0 || errno == ENOENT else {
            throw .failed("compressed \(final) but cannot remove \(path): \(String(cString: strerror(errno)))")
        }
        try WALCompression.fsyncDirectory(dir)
        report.compressed += 1
        report.bytesBefore += Int64(original.count)
        report.bytesAfter += Int64(compressed.count)
        logger.debug("compressed \(path) with \(algorithm): \(original.count) → \(compressed.count) bytes")
    }
}

extension Container {
    /// Compresses the completed WAL segments with `wal_compression` (nothing for `none`), logging
    /// one line per file at debug level and a summary at info level. Takes no lock: compression is
    /// safe against everything that may run beside it (see `WALArchive.compress`).
    ///
    /// The segment size comes from the newest snapshot's pg_control (recorded in its metadata),
    /// else from the archive's own uncompressed segments.
    public func compressWAL(logger: Logger? = nil) throws(PGArchiveError) -> CompressionReport {
        let logger = logger ?? self.logger
        guard let algorithm = WALCompression.algorithm(configValue: config.walCompression) else {
            let report = CompressionReport(algorithm: nil)
            logger.info("\(report.summary)")
            return report
        }
        let segmentSize = (try? snapshots.list())?.last?.walSegmentSize
        let archive = WALArchive(directory: layout.walArchive, segmentSize: segmentSize)
        let report = try archive.compress(algorithm: algorithm, logger: logger)
        if report.failures.isEmpty {
            logger.info("\(report.summary)")
        } else {
            logger.warning("\(report.summary)")
        }
        return report
    }
}
