import Foundation

/// What `wal list` and `wal du` show of the archive.
public struct WALListing: Sendable {
    public struct Row: Sendable {
        public var fileName: String
        /// segment, partial or history.
        public var kind: String
        /// The codec's name, or "-" for an uncompressed file.
        public var compression: String
        public var size: Int64
        public var modified: Date
        /// Kept from before a resync (in a `before-resync-*` directory).
        public var beforeResync: Bool
    }

    public var rows: [Row]
    /// Segments missing from the live archive's sequence (a gap: `wal list` exits 1).
    public var missing: [String]

    /// Files and bytes per UTC day of modification.
    public struct Day: Sendable {
        public var day: String
        public var files: Int
        public var bytes: Int64
    }
}

extension Container {
    /// `wal list`: every file of the archive (`includeRetired`: also those from before a
    /// resync) and the segments missing in between.
    public func walListing(includeRetired: Bool) throws -> WALListing {
        let archive = WALArchive(directory: layout.walArchive)
        let rows = try archive.entries(includeRetired: includeRetired).map { entry in
            WALListing.Row(fileName: entry.name.fileName,
                           kind: entry.name.isHistory ? "history" : (entry.name.isPartial ? "partial" : "segment"),
                           compression: entry.name.compression.map { "\($0)" } ?? "-",
                           size: entry.size, modified: entry.modified,
                           beforeResync: entry.path.hasPrefix(layout.walArchive + "/before-resync-"))
        }
        let missing = try archive.missingSegments(segmentSize: walSegmentSize).map(\.fileName)
        return WALListing(rows: rows, missing: missing)
    }

    /// `wal du`: the archive's files (those from before a resync included) per UTC day, oldest first.
    public func walDailyUsage() throws -> [WALListing.Day] {
        var perDay: [String: WALListing.Day] = [:]
        for entry in try WALArchive(directory: layout.walArchive).entries(includeRetired: true) {
            let day = String(ISO8601.utc(entry.modified).prefix(10))
            perDay[day, default: WALListing.Day(day: day, files: 0, bytes: 0)].files += 1
            perDay[day, default: WALListing.Day(day: day, files: 0, bytes: 0)].bytes += entry.size
        }
        return perDay.keys.sorted().map { perDay[$0]! }
    }
}
