import Foundation

/// Which database system a WAL segment or a data directory belongs to, read from the files
/// themselves (no PostgreSQL program needed, so `wal fetch` can ask it for every segment).
extension WALArchive {
    /// `xlp_sysid` of a segment's first page (XLogLongPageHeaderData: after the 20-byte
    /// XLogPageHeaderData, aligned to 8, so at byte 24), in the host's byte order as PostgreSQL
    /// writes it; nil when the file is too short or its first page is not a long header
    /// (a zero-filled .partial, a history file).
    public static func segmentSystemIdentifier(_ path: String) -> UInt64? {
        guard let header = firstBytes(path, count: 32), header.count == 32 else { return nil }
        // xlp_info (bytes 2–3) has XLP_LONG_HEADER (0x0002) on a segment's first page.
        guard header[2] & 0x02 != 0 else { return nil }
        let value = header[24..<32].withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
        return value == 0 ? nil : value
    }

    /// The system identifier of the data directory `dataDirectory`: the first field of
    /// `global/pg_control` (ControlFileData.system_identifier); nil without one.
    public static func systemIdentifier(dataDirectory: String) -> UInt64? {
        guard let bytes = firstBytes(dataDirectory + "/global/pg_control", count: 8), bytes.count == 8 else { return nil }
        let value = bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
        return value == 0 ? nil : value
    }

    private static func firstBytes(_ path: String, count: Int) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: count)
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, count) }
        return n < 0 ? nil : Array(buffer[0..<n])
    }
}
