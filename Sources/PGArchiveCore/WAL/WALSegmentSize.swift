import Foundation
import Postgres

extension Container {
    /// The cluster's WAL segment size (`wal_segment_size`, fixed by `initdb --wal-segsize`):
    /// pg_control's "Bytes per WAL segment" as recorded for the newest snapshot, else the size
    /// of the archive's complete uncompressed segments, else PostgreSQL's default of 16 MiB.
    /// Segment names mean different positions for different sizes, so every gap check,
    /// position and retention cutoff computed from a name needs this.
    public var walSegmentSize: UInt64 {
        if let size = (try? snapshots.list())?.last?.walSegmentSize, WALCompression.isValidSegmentSize(size) { return size }
        return WALArchive(directory: layout.walArchive).inferredSegmentSize() ?? defaultWALSegmentSize
    }
}

extension ServerConfiguration {
    /// min_wal_size / max_wal_size for a cluster with `segmentSize` where PostgreSQL's defaults
    /// (80 MB, 1 GB) are below two segments and the server would not start ("min_wal_size must
    /// be at least twice wal_segment_size"); nothing for the default 16 MiB.
    static func walSizeSettings(segmentSize: UInt64?) -> [(String, String)] {
        guard let segmentSize else { return [] }
        let twoSegmentsMB = 2 * segmentSize >> 20
        var result: [(String, String)] = []
        if twoSegmentsMB > 80 { result.append(("min_wal_size", "\(twoSegmentsMB)MB")) }
        if twoSegmentsMB > 1024 { result.append(("max_wal_size", "\(twoSegmentsMB)MB")) }
        return result
    }

    /// The WAL segment size of the cluster in `dataDirectory`, from the size of a complete
    /// segment in its pg_wal (a base backup and every standby, snapshot or clone has one);
    /// nil when there is none.
    static func walSegmentSize(dataDirectory: String) -> UInt64? {
        let pgWAL = dataDirectory + "/pg_wal"
        for file in ((try? FileManager.default.contentsOfDirectory(atPath: pgWAL)) ?? []).sorted() {
            guard let name = WALFileName.parse(file), !name.isHistory, !name.isPartial, name.compression == nil else { continue }
            var st = stat()
            guard stat(pgWAL + "/" + file, &st) == 0 else { continue }
            if WALCompression.isValidSegmentSize(UInt64(st.st_size)) { return UInt64(st.st_size) }
        }
        return nil
    }
}
