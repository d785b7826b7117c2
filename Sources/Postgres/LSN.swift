import Foundation

/// The default WAL segment size (initdb `--wal-segsize` default): 16 MiB.
public let defaultWALSegmentSize: UInt64 = 16 << 20

/// A WAL location (log sequence number), a byte position in the WAL stream, written the way
/// PostgreSQL writes `pg_lsn`: two hexadecimal halves, `16/B374D848`.
///
/// Encodes as that string in JSON, so snapshot metadata stays readable.
public struct LSN: Comparable, Hashable, Codable, Sendable, CustomStringConvertible, LosslessStringConvertible {
    public var value: UInt64

    public init(_ value: UInt64) {
        self.value = value
    }

    /// `0/0`, PostgreSQL's InvalidXLogRecPtr ("no location").
    public static let zero = LSN(0)

    /// Parses `16/B374D848` (case-insensitive, each half 1–8 hex digits); `nil` otherwise.
    public init?(_ text: String) {
        let halves = text.split(separator: "/", omittingEmptySubsequences: false)
        guard halves.count == 2,
              let high = Self.parseHalf(halves[0]), let low = Self.parseHalf(halves[1])
        else { return nil }
        value = UInt64(high) << 32 | UInt64(low)
    }

    private static func parseHalf(_ text: Substring) -> UInt32? {
        guard (1...8).contains(text.count), text.allSatisfy(\.isHexDigit) else { return nil }
        return UInt32(text, radix: 16)
    }

    /// `16/B374D848`: upper-case hex, no leading zeros, as PostgreSQL prints it.
    public var description: String {
        String(value >> 32, radix: 16, uppercase: true) + "/"
            + String(value & 0xFFFF_FFFF, radix: 16, uppercase: true)
    }

    public static func < (lhs: LSN, rhs: LSN) -> Bool { lhs.value < rhs.value }

    /// The number of the WAL segment that contains this location (PostgreSQL's `XLByteToSeg`).
    public func segmentNumber(segmentSize: UInt64 = defaultWALSegmentSize) -> UInt64 {
        value / segmentSize
    }

    /// The name of the WAL segment file that contains this location on `timeline`, 24 hex
    /// digits: `0/3000028` on timeline 1 is `000000010000000000000003`.
    ///
    /// This is the segment *containing* the byte at this location, as pg_controldata's "REDO
    /// WAL file" and the server's own segment naming use. `pg_walfile_name()` differs exactly
    /// at a segment boundary: it names the segment holding the byte *before* the location
    /// (`pg_walfile_name('1/A0000000')` is `…0000009F`, this returns `…000000A0`), because it
    /// is meant for end locations such as `pg_backup_stop()`'s.
    public func walFileName(timeline: UInt32, segmentSize: UInt64 = defaultWALSegmentSize) -> String {
        WALFileName(timeline: timeline, segmentNumber: segmentNumber(segmentSize: segmentSize),
                    segmentSize: segmentSize).baseName
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let lsn = LSN(text) else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "'\(text)' is not a WAL location like 16/B374D848")
        }
        self = lsn
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// The name of a file in a WAL archive: a WAL segment (`000000010000000A000000FF`), possibly
/// still being written by pg_receivewal (`.partial`) and possibly compressed (`.zst`, `.lz4`,
/// `.gz`), or a timeline history file (`00000002.history`).
///
/// pg_receivewal names the segment it is writing `NAME.partial`, or `NAME.gz.partial` /
/// `NAME.lz4.partial` when it compresses; so the compression suffix comes before `.partial`.
public struct WALFileName: Hashable, Sendable, CustomStringConvertible {
    /// How a file in the archive is compressed, by file name suffix.
    public enum Compression: String, Sendable, CaseIterable {
        case zstd = "zst"
        case lz4 = "lz4"
        case gzip = "gz"

        /// The suffix including the dot: `.zst`.
        public var fileSuffix: String { "." + rawValue }
    }

    public enum Content: Hashable, Sendable {
        /// A WAL segment: `log` and `seg` are the second and third groups of 8 hex digits.
        case segment(log: UInt32, seg: UInt32)
        /// The history file written when `timeline` was created (by a promotion).
        case history
    }

    public var timeline: UInt32
    public var content: Content
    /// A segment pg_receivewal is still writing; archive recovery never reads these.
    public var isPartial: Bool
    public var compression: Compression?

    public init(timeline: UInt32, content: Content, isPartial: Bool = false, compression: Compression? = nil) {
        self.timeline = timeline
        self.content = content
        self.isPartial = isPartial
        self.compression = compression
    }

    /// The segment `segmentNumber` on `timeline` (PostgreSQL's `XLogFileName`).
    public init(timeline: UInt32, segmentNumber: UInt64, segmentSize: UInt64 = defaultWALSegmentSize,
                isPartial: Bool = false, compression: Compression? = nil) {
        let perLog = Self.segmentsPerLogID(segmentSize: segmentSize)
        self.init(timeline: timeline,
                  content: .segment(log: UInt32(truncatingIfNeeded: segmentNumber / perLog),
                                    seg: UInt32(truncatingIfNeeded: segmentNumber % perLog)),
                  isPartial: isPartial, compression: compression)
    }

    /// The history file of `timeline`: `00000002.history`.
    public static func history(timeline: UInt32) -> WALFileName {
        WALFileName(timeline: timeline, content: .history)
    }

    /// Parses a file name found in a WAL archive; `nil` for anything else (temporary files,
    /// backup history files, stray files).
    public static func parse(_ name: String) -> WALFileName? {
        var rest = Substring(name)
        var isPartial = false
        var compression: Compression?
        if rest.hasSuffix(".partial") {
            isPartial = true
            rest = rest.dropLast(".partial".count)
        }
        for candidate in Compression.allCases where rest.hasSuffix(candidate.fileSuffix) {
            compression = candidate
            rest = rest.dropLast(candidate.fileSuffix.count)
            break
        }
        if rest.hasSuffix(".history") {
            let digits = rest.dropLast(".history".count)
            guard !isPartial, compression == nil, let timeline = hex8(digits) else { return nil }
            return WALFileName(timeline: timeline, content: .history)
        }
        guard rest.count == 24,
              let timeline = hex8(rest.prefix(8)),
              let log = hex8(rest.dropFirst(8).prefix(8)),
              let seg = hex8(rest.suffix(8))
        else { return nil }
        return WALFileName(timeline: timeline, content: .segment(log: log, seg: seg),
                           isPartial: isPartial, compression: compression)
    }

    private static func hex8(_ text: Substring) -> UInt32? {
        // PostgreSQL writes upper-case hex; IsXLogFileName accepts only [0-9A-F].
        guard text.count == 8, text.allSatisfy({ ("0"..."9").contains($0) || ("A"..."F").contains($0) })
        else { return nil }
        return UInt32(text, radix: 16)
    }

    static func segmentsPerLogID(segmentSize: UInt64) -> UInt64 {
        0x1_0000_0000 / segmentSize
    }

    public var isHistory: Bool { content == .history }

    /// The segment number (`XLogFromFileName`), or `nil` for a history file or when `seg` is
    /// out of range for `segmentSize` (the name cannot come from a cluster with that size).
    public func segmentNumber(segmentSize: UInt64 = defaultWALSegmentSize) -> UInt64? {
        guard case .segment(let log, let seg) = content else { return nil }
        let perLog = Self.segmentsPerLogID(segmentSize: segmentSize)
        guard UInt64(seg) < perLog else { return nil }
        return UInt64(log) * perLog + UInt64(seg)
    }

    /// The WAL location where this segment starts, or `nil` as for `segmentNumber`.
    public func startLSN(segmentSize: UInt64 = defaultWALSegmentSize) -> LSN? {
        segmentNumber(segmentSize: segmentSize).map { LSN($0 * segmentSize) }
    }

    /// The name without `.partial` and compression suffixes: the name PostgreSQL asks
    /// `restore_command` for.
    public var baseName: String {
        switch content {
        case .segment(let log, let seg):
            Self.format8(timeline) + Self.format8(log) + Self.format8(seg)
        case .history:
            Self.format8(timeline) + ".history"
        }
    }

    /// The full file name, suffixes included.
    public var fileName: String {
        baseName + (compression?.fileSuffix ?? "") + (isPartial ? ".partial" : "")
    }

    public var description: String { fileName }

    private static func format8(_ number: UInt32) -> String {
        let hex = String(number, radix: 16, uppercase: true)
        return String(repeating: "0", count: 8 - hex.count) + hex
    }
}
