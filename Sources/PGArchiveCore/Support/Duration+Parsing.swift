import Foundation

/// A span of time written the way operators write it in configuration files:
/// `30 days`, `12h`, `90 min`, `1 week`, `45s`. Stored as whole seconds.
public struct TimeSpan: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var seconds: Int64

    public init(seconds: Int64) { self.seconds = seconds }

    public static func < (a: TimeSpan, b: TimeSpan) -> Bool { a.seconds < b.seconds }

    private static let units: [(names: [String], seconds: Int64)] = [
        (["s", "sec", "secs", "second", "seconds"], 1),
        (["m", "min", "mins", "minute", "minutes"], 60),
        (["h", "hr", "hrs", "hour", "hours"], 3600),
        (["d", "day", "days"], 86400),
        (["w", "week", "weeks"], 7 * 86400),
    ]

    /// Parses `<number> <unit>` (space optional). Returns nil for anything else.
    public init?(parsing text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        let digits = trimmed.prefix(while: { $0.isNumber })
        guard !digits.isEmpty, let value = Int64(digits) else { return nil }
        let unit = trimmed.dropFirst(digits.count).trimmingCharacters(in: .whitespaces)
        guard let factor = Self.units.first(where: { $0.names.contains(unit) })?.seconds else { return nil }
        let (product, overflow) = value.multipliedReportingOverflow(by: factor)
        guard !overflow else { return nil }
        self.seconds = product
    }

    /// Rounded for people reading ages: `45 s`, `19 min`, `3.2 hours`, `2.5 days`.
    public var approximate: String {
        let s = Double(seconds)
        if seconds < 120 { return "\(seconds) s" }
        if seconds < 7200 { return "\(Int((s / 60).rounded())) min" }
        if seconds < 2 * 86400 { return String(format: "%.1f hours", s / 3600) }
        return String(format: "%.1f days", s / 86400)
    }

    public var description: String {
        for (names, factor) in Self.units.reversed() where seconds != 0 && seconds % factor == 0 {
            let n = seconds / factor
            let name = names.last!
            return "\(n) \(n == 1 ? String(name.dropLast()) : name)"
        }
        return "\(seconds) seconds"
    }
}

/// Byte counts for people: `1.5 GiB`.
public enum ByteCount {
    public static func human(_ bytes: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
        var value = Double(bytes)
        var unit = 0
        while abs(value) >= 1024 && unit < units.count - 1 { value /= 1024; unit += 1 }
        return unit == 0 ? "\(bytes) B" : String(format: "%.1f %@", value, units[unit])
    }
}
