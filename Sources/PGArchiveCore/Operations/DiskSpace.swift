import Foundation

/// A free-space threshold of the container's file system (`disk_warning`, `disk_critical`):
/// a share of its size (`10%`) or an absolute amount (`2 GiB`, `500MB`, `1G`).
public enum DiskThreshold: Sendable, Equatable, CustomStringConvertible {
    case percent(Double)
    case bytes(Int64)

    /// Parses `10%`, `2.5 %`, `2 GiB`, `2GB`, `500 MiB`, `1G`, `4096` (bytes). Units are
    /// powers of 1024 whichever way they are spelt. nil for anything else, a percentage
    /// above 100 or a negative amount.
    public init?(parsing text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.hasSuffix("%") {
            guard let value = Double(trimmed.dropLast().trimmingCharacters(in: .whitespaces)),
                  value.isFinite, value >= 0, value <= 100 else { return nil }
            self = .percent(value)
            return
        }
        let number = trimmed.prefix { $0.isNumber || $0 == "." }
        let unit = trimmed.dropFirst(number.count).trimmingCharacters(in: .whitespaces).lowercased()
        guard !number.isEmpty, let value = Double(number), value.isFinite else { return nil }
        let shifts: [String: Int] = ["": 0, "b": 0, "k": 10, "kb": 10, "kib": 10, "m": 20, "mb": 20, "mib": 20,
                                     "g": 30, "gb": 30, "gib": 30, "t": 40, "tb": 40, "tib": 40]
        guard let shift = shifts[unit] else { return nil }
        let bytes = value * Double(Int64(1) << shift)
        guard bytes < 9e18 else { return nil }
        self = .bytes(Int64(bytes))
    }

    /// The threshold in bytes on a file system of `size` bytes.
    public func bytes(ofSize size: Int64) -> Int64 {
        switch self {
        case .percent(let p): return Int64(Double(size) * p / 100)
        case .bytes(let b): return b
        }
    }

    /// As written in pgarchive.conf: `10%` or `2 GiB`-style (exact bytes when not whole).
    public var description: String {
        switch self {
        case .percent(let p): return p == p.rounded() ? "\(Int(p))%" : "\(p)%"
        case .bytes(let b):
            for (unit, shift) in [("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)] where b >= Int64(1) << shift && b % (Int64(1) << shift) == 0 {
                return "\(b >> shift) \(unit)"
            }
            return "\(b)"
        }
    }
}

/// Free space of the container's file system and the "No space left on device" errors of
/// its daemons: the pure parts, so they can be tested without a full disk.
public enum DiskSpace {
    /// ok, warning (below the warning threshold) or critical (below the critical one).
    public static func level(free: Int64, warningBytes: Int64, criticalBytes: Int64) -> HealthCheck.Level {
        if free < criticalBytes { return .critical }
        if free < warningBytes { return .warning }
        return .ok
    }

    /// What a log line says when a write failed for want of space. pg_receivewal's
    /// "has N bytes, should be 0 or 16777216" is the trace of a segment whose zero-padding
    /// ran out of space (the watchdog removes such a file).
    static let noSpaceMarkers = ["no space left on device", "should be 0 or"]

    /// Lines of pg_receivewal's log (`-v`) that show it working again.
    public static let receiverProgressMarkers = ["finished segment at", "starting log streaming at"]
    /// Lines of the standby's log that show it working again: a (re)start that reached
    /// consistency, or a restartpoint written.
    public static let standbyProgressMarkers = ["ready to accept read-only connections", "restartpoint complete"]

    /// The last line of `log` reporting a lack of space, provided no line after it shows
    /// progress (one of `progressMarkers`): the error is still current, not history.
    public static func currentNoSpaceLine(in log: String, progressMarkers: [String]) -> String? {
        var found: Substring?
        for line in log.split(separator: "\n") {
            let lower = line.lowercased()
            if noSpaceMarkers.contains(where: { lower.contains($0) }) {
                found = line
            } else if found != nil, progressMarkers.contains(where: { lower.contains($0) }) {
                found = nil
            }
        }
        return found.map { $0.trimmingCharacters(in: .whitespaces) }
    }

    /// The current "no space" line of the log file at `path` (its last 64 KiB), or nil.
    public static func currentNoSpaceLine(logFile path: String, progressMarkers: [String]) -> String? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        let size = LogFile.size(path)
        try? handle.seek(toOffset: size > 64 * 1024 ? size - 64 * 1024 : 0)
        let text = String(decoding: (try? handle.readToEnd()) ?? Data(), as: UTF8.self)
        return currentNoSpaceLine(in: text, progressMarkers: progressMarkers)
    }

    /// Size and space available to this user (`f_bavail`) of the file system holding `path`.
    /// On btrfs both are estimates (shared extents, metadata, compression): good enough to
    /// see a file system filling up, not to count bytes.
    public static func fileSystem(of path: String) -> (size: Int64, free: Int64)? {
        var fs = statvfs()
        guard statvfs(path, &fs) == 0 else { return nil }
        return (Int64(fs.f_blocks) * Int64(fs.f_frsize), Int64(fs.f_bavail) * Int64(fs.f_frsize))
    }
}
