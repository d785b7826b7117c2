import Foundation

/// Parses the times operators type for restore targets: ISO-8601 with or without a zone
/// (`2026-11-21T14:30:00Z`, `2026-11-21T14:30:00+01:00`), with a space instead of `T`, with
/// or without seconds and fractions (`2026-11-21 14:30`), or a bare date (midnight). A time
/// without a zone is in `localTimeZone` (the machine's, or `TZ`).
public enum TargetTimeParser {
    public static func parse(_ text: String, localTimeZone: TimeZone = .current) throws(PGArchiveError) -> Date {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        func fail() -> PGArchiveError {
            PGArchiveError("cannot read '\(PGArchiveError.echo(text))' as a time; use ISO-8601 such as 2026-11-21T14:30:00Z, 2026-11-21 14:30 (local time) or 2026-11-21 14:30:00+01:00")
        }
        let chars = Array(trimmed)
        var i = 0
        func number(_ digits: Int) -> Int? {
            guard i + digits <= chars.count else { return nil }
            let slice = String(chars[i..<i + digits])
            guard slice.allSatisfy(\.isASCIIDigit), let n = Int(slice) else { return nil }
            i += digits
            return n
        }
        func expect(_ c: Character) -> Bool {
            guard i < chars.count, chars[i] == c else { return false }
            i += 1
            return true
        }
        guard let year = number(4), expect("-"), let month = number(2), expect("-"), let day = number(2) else { throw fail() }
        var hour = 0, minute = 0, second = 0
        var nanosecond = 0
        if i < chars.count, chars[i] == "T" || chars[i] == " " {
            i += 1
            guard let h = number(2), expect(":"), let m = number(2) else { throw fail() }
            hour = h; minute = m
            if expect(":") {
                guard let s = number(2) else { throw fail() }
                second = s
                if expect(".") || expect(",") {
                    var digits = ""
                    // ASCII digits only: "٣" is a number to isNumber, but not to Int().
                    while i < chars.count, chars[i].isASCIIDigit { digits.append(chars[i]); i += 1 }
                    guard !digits.isEmpty, let n = Int((digits + "000000000").prefix(9)) else { throw fail() }
                    nanosecond = n
                }
            }
        }
        while i < chars.count, chars[i] == " " { i += 1 }
        var zone: TimeZone = localTimeZone
        if i < chars.count {
            if chars[i] == "Z" || chars[i] == "z" {
                i += 1
                zone = TimeZone(identifier: "UTC")!
            } else if chars[i] == "+" || chars[i] == "-" {
                let sign = chars[i] == "-" ? -1 : 1
                i += 1
                guard let zh = number(2) else { throw fail() }
                var zm = 0
                if expect(":") { guard let m = number(2) else { throw fail() }; zm = m } else if let m = number(2) { zm = m }
                guard let tz = TimeZone(secondsFromGMT: sign * (zh * 3600 + zm * 60)) else { throw fail() }
                zone = tz
            } else if trimmed.hasSuffix(" UTC") || trimmed.hasSuffix(" utc") {
                i = chars.count
                zone = TimeZone(identifier: "UTC")!
            }
        }
        guard i == chars.count else { throw fail() }
        guard (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61 else { throw fail() }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let components = DateComponents(year: year, month: month, day: day, hour: hour, minute: minute, second: second, nanosecond: nanosecond)
        guard let date = calendar.date(from: components), calendar.component(.day, from: date) == day else { throw fail() }
        return date
    }

    /// A timestamptz literal PostgreSQL reads exactly: `2026-11-21 14:30:00.123456+00`.
    public static func postgresLiteral(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        let whole = floor(date.timeIntervalSince1970)
        let micros = Int(((date.timeIntervalSince1970 - whole) * 1_000_000).rounded())
        let (carry, fraction) = micros >= 1_000_000 ? (1, 0) : (0, micros)
        if carry == 1 { return postgresLiteral(Date(timeIntervalSince1970: whole + 1)) }
        return String(format: "%04d-%02d-%02d %02d:%02d:%02d.%06d+00", c.year!, c.month!, c.day!, c.hour!, c.minute!, c.second!, fraction)
    }
}

extension Character {
    /// 0–9 only (Character.isNumber is true for any script's digits, fractions and numerals).
    var isASCIIDigit: Bool { ("0"..."9").contains(self) && isASCII }
}
