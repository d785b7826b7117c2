import Foundation

/// UTC timestamps as `2026-11-21T08:15:00Z`.
public enum ISO8601 {
    public static func utc(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: date)
    }

    /// `2026-11-21T08:15:00.123456Z`: exact to the microsecond, as PostgreSQL keeps time.
    public static func utcMicroseconds(_ date: Date) -> String {
        let literal = TargetTimeParser.postgresLiteral(date) // 2026-11-21 08:15:00.123456+00
        return literal.replacingOccurrences(of: " ", with: "T").replacingOccurrences(of: "+00", with: "Z")
    }
}
