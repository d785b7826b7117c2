import Foundation
import Postgres

/// The `wal_archive/` directory: segments and timeline history files written by
/// pg_receivewal (the newest one as `NAME.partial`), later compressed by cron.
/// Segments of the time before a `container resync` live in `before-resync-*/` below it,
/// where pg_receivewal does not look (it would try to resume from them).
public struct WALArchive: Sendable {
    public let directory: String
    /// The cluster's WAL segment size (pg_control's "Bytes per WAL segment"), when the caller
    /// knows it; `nil` lets `fetch` and `compress` infer it from the archive's uncompressed
    /// segments (see `inferredSegmentSize()`).
    public var segmentSize: UInt64?

    public init(directory: String, segmentSize: UInt64? = nil) {
        self.directory = directory
        self.segmentSize = segmentSize
    }

    public struct Entry: Sendable, Equatable {
        public var name: WALFileName
        public var path: String
        public var size: Int64
        public var modified: Date
    }

    /// The archive's files, oldest first (history files before segments of their timeline).
    /// Includes the segments kept from before a resync when `includeRetired`.
    public func entries(includeRetired: Bool = false) throws(PGArchiveError) -> [Entry] {
        var directories = [directory]
        if includeRetired { directories += retiredDirectories() }
        var result: [Entry] = []
        for dir in directories {
            let names: [String]
            do { names = try FileManager.default.contentsOfDirectory(atPath: dir) } catch {
                throw PGArchiveError("cannot list \(dir): \(error.localizedDescription)")
            }
            for file in names {
                guard let name = WALFileName.parse(file) else { continue }
                var st = stat()
                guard stat(dir + "/" + file, &st) == 0 else { continue }
                result.append(Entry(name: name, path: dir + "/" + file, size: Int64(st.st_size),
                                    modified: Date(timeIntervalSince1970: TimeInterval(st.st_mtim.tv_sec))))
            }
        }
        return result.sorted { Self.order($0.name, $1.name) }
    }

    static func order(_ a: WALFileName, _ b: WALFileName) -> Bool {
        // History files first (by timeline), then segments by position, timeline, partial last.
        // The position is the name's (log, seg) pair, which orders segments of any size alike
        // (a segment number would need the size: with 1 MiB segments `seg` goes up to FFF).
        let ka = (a.isHistory ? 0 : 1, position(a), a.timeline, a.isPartial ? 1 : 0)
        let kb = (b.isHistory ? 0 : 1, position(b), b.timeline, b.isPartial ? 1 : 0)
        return ka < kb
    }

    private static func position(_ name: WALFileName) -> UInt64 {
        guard case .segment(let log, let seg) = name.content else { return 0 }
        return UInt64(log) << 32 | UInt64(seg)
    }

    /// Directories holding segments from before a resync, newest first.
    public func retiredDirectories() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasPrefix("before-resync-") }.sorted(by: >).map { directory + "/" + $0 }
    }

    /// Segment numbers missing between the first and the last segment of each timeline
    /// (complete or partial) in the main directory. Empty when the archive is contiguous.
    /// The segment size is `segmentSize`, else the archive's, else the one its segments show.
    public func missingSegments(segmentSize: UInt64? = nil) throws(PGArchiveError) -> [WALFileName] {
        let size = segmentSize ?? self.segmentSize ?? inferredSegmentSize() ?? defaultWALSegmentSize
        return Self.missingSegments(in: try entries(), segmentSize: size)
    }

    /// `missingSegments()` over entries already listed, for the cluster's `segmentSize` (with
    /// another size, consecutive names look like gaps or are not segments at all).
    public static func missingSegments(in entries: [Entry], segmentSize: UInt64) -> [WALFileName] {
        var byTimeline: [UInt32: Set<UInt64>] = [:]
        for entry in entries where !entry.name.isHistory {
            if let n = entry.name.segmentNumber(segmentSize: segmentSize) { byTimeline[entry.name.timeline, default: []].insert(n) }
        }
        var missing: [WALFileName] = []
        for (timeline, numbers) in byTimeline.sorted(by: { $0.key < $1.key }) {
            guard let low = numbers.min(), let high = numbers.max() else { continue }
            for n in low...high where !numbers.contains(n) {
                missing.append(WALFileName(timeline: timeline, segmentNumber: n, segmentSize: segmentSize))
            }
        }
        return missing
    }

    /// The newest segment file (complete or partial), if any.
    public func newestSegment() throws(PGArchiveError) -> Entry? {
        try entries().last { !$0.name.isHistory }
    }

    public enum FetchError: Error, CustomStringConvertible {
        /// The file is not in the archive: PostgreSQL expects exit code 1 and no noise.
        case notFound
        /// Bad request or I/O error: recovery must stop rather than continue without it.
        case failed(String)

        public var description: String {
            switch self {
            case .notFound: return "not found"
            case .failed(let message): return message
            }
        }
    }

    /// Copies `name` (a segment or history file name as PostgreSQL asks for it) to
    /// `destination`. A `.partial` segment is served under its final name only when
    /// `partialOK` (clones restoring to the latest point; never the standby, which must
    /// only ever replay complete segments).
    ///
    /// In each directory (the archive, then the `before-resync-*` ones) the plain `NAME` comes
    /// first, then `NAME.zst`, `NAME.lz4`, `NAME.gz` decompressed straight into `destination`,
    /// then `NAME.partial`. Each candidate is opened rather than tested for existence first:
    /// `wal compress` renames the finished compressed file into place before it unlinks `NAME`,
    /// so when opening `NAME` fails with ENOENT the compressed file is already complete.
    ///
    /// A compressed file that fails its checksum, is truncated, or does not decompress to exactly
    /// the segment size is `.failed` (recovery stops), never served and never `.notFound` (which
    /// PostgreSQL takes for the end of the archive). Returns the path served.
    ///
    /// `systemIdentifier`: the requester's database system (its pg_control's). After a major
    /// upgrade of the upstream, pg_upgrade's new cluster continues the old WAL file names, so
    /// the new cluster's first segment in the archive can have the name of the old cluster's
    /// last one, kept in `before-resync-*`: a segment whose page header names another system is
    /// passed over for the next directory's (UpstreamIdentity.swift).
    public func fetch(_ name: String, to destination: String, partialOK: Bool, systemIdentifier: UInt64? = nil) throws(FetchError) -> String {
        guard let parsed = WALFileName.parse(name), !parsed.isPartial, parsed.compression == nil, parsed.fileName == name else {
            throw .failed("'\(name)' is not a WAL segment or timeline history file name")
        }
        // Twice: pg_receivewal renames `NAME.partial` to `NAME` when the segment is complete,
        // and a rename between the lookup of `NAME` and that of `NAME.partial` would make the
        // segment look absent; the second pass then finds `NAME`.
        for _ in 0..<2 {
            if let source = try lookUp(name, isHistory: parsed.isHistory, to: destination, partialOK: partialOK,
                                       systemIdentifier: systemIdentifier) { return source }
        }
        throw .notFound
    }

    /// One pass of `fetch` over the archive and the `before-resync-*` directories.
    private func lookUp(_ name: String, isHistory: Bool, to destination: String, partialOK: Bool,
                        systemIdentifier: UInt64?) throws(FetchError) -> String? {
        for dir in [directory] + retiredDirectories() {
            guard let source = try lookUp(name, in: dir, isHistory: isHistory, to: destination, partialOK: partialOK) else { continue }
            if let systemIdentifier, !isHistory, let found = Self.segmentSystemIdentifier(destination), found != systemIdentifier {
                unlink(destination) // another database system's segment of that name
                continue
            }
            return source
        }
        return nil
    }

    /// `lookUp` in one directory.
    private func lookUp(_ name: String, in dir: String, isHistory: Bool, to destination: String, partialOK: Bool) throws(FetchError) -> String? {
        if let source = try Self.copyIfPresent(dir + "/" + name, to: destination) { return source }
        guard !isHistory else { return nil }
        for compression in WALFileName.Compression.allCases {
            if let source = try decompressIfPresent(dir + "/" + name + compression.fileSuffix, compression, to: destination) {
                return source
            }
        }
        if partialOK, let source = try Self.copyIfPresent(dir + "/" + name + ".partial", to: destination) {
            // pg_receivewal zero-fills a new segment before it writes WAL into it: all zeros
            // (maybe still short, mid-fill) is no WAL yet, and PostgreSQL would stop on the
            // short file ("has wrong size") instead of ending recovery where the WAL ends.
            if !WALReceiver.isAllZeros(destination) { return source }
            unlink(destination)
        }
        return nil
    }

    /// Opens `source`; nil if it does not exist, else copies it and returns its path.
    private static func copyIfPresent(_ source: String, to destination: String) throws(FetchError) -> String? {
        let input = open(source, O_RDONLY | O_CLOEXEC)
        if input < 0 {
            if errno == ENOENT { return nil }
            throw .failed("cannot open \(source): \(String(cString: strerror(errno)))")
        }
        defer { close(input) }
        do { try FileCopy.clone(descriptor: input, source: source, to: destination) } catch { throw .failed("\(error)") }
        return source
    }

    /// Opens the compressed `source`; nil if it does not exist, else decompresses and verifies
    /// it into `destination` (removed again if `source` is corrupt) and returns its path.
    private func decompressIfPresent(_ source: String, _ compression: WALFileName.Compression,
                                     to destination: String) throws(FetchError) -> String? {
        let input = open(source, O_RDONLY | O_CLOEXEC)
        if input < 0 {
            if errno == ENOENT { return nil }
            throw .failed("cannot open \(source): \(String(cString: strerror(errno)))")
        }
        defer { close(input) }
        let expected = segmentSize ?? inferredSegmentSize()
        do throws(WALCompressionError) {
            let size = try WALCompression.decompress(descriptor: input, path: source, algorithm: compression,
                                                     expectedSize: expected, to: destination)
            // Without a known segment size, at least a plausible one.
            if expected == nil && !WALCompression.isValidSegmentSize(size) {
                unlink(destination)
                throw WALCompressionError.corrupt(file: source, reason: "decompresses to \(size) bytes, which is not a WAL segment size")
            }
        } catch {
            throw .failed(error.description)
        }
        return source
    }
}

/// Copies a file, sharing extents (reflink, FICLONE) when source and destination are on
/// the same btrfs, else by reading and writing. The destination is created mode 0600.
public enum FileCopy {
    public static func clone(from source: String, to destination: String) throws(PGArchiveError) {
        let input = open(source, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw PGArchiveError("cannot open \(source): \(String(cString: strerror(errno)))") }
        defer { close(input) }
        try clone(descriptor: input, source: source, to: destination)
    }

    /// As `clone(from:to:)` from an open file (`source` names it in errors).
    public static func clone(descriptor input: Int32, source: String, to destination: String) throws(PGArchiveError) {
        let output = open(destination, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard output >= 0 else { throw PGArchiveError("cannot create \(destination): \(String(cString: strerror(errno)))") }
        defer { close(output) }
        // FICLONE = _IOW(0x94, 9, int)
        let ficlone: UInt = 0x4004_9409
        if ioctl(output, ficlone, input) == 0 { return }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = read(input, &buffer, buffer.count)
            if n < 0 { if errno == EINTR { continue }; throw PGArchiveError("cannot read \(source): \(String(cString: strerror(errno)))") }
            if n == 0 { break }
            var written = 0
            while written < n {
                let w = buffer.withUnsafeBytes { write(output, $0.baseAddress! + written, n - written) }
                if w < 0 { if errno == EINTR { continue }; throw PGArchiveError("cannot write \(destination): \(String(cString: strerror(errno)))") }
                written += w
            }
        }
    }
}
