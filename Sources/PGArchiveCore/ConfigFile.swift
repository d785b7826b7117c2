import Foundation

/// One `key = value` line of a configuration file, with where it came from.
public struct ConfigEntry: Sendable, Equatable {
    public var key: String
    public var value: String
    public var file: String
    public var line: Int
}

/// Reads files in postgresql.conf's grammar: `key = value` or `key value`, `#` comments,
/// bare words and numbers, or single-quoted strings in which `''` and `\'` stand for a
/// quote and `\\` for a backslash. Strict: anything else is an error naming file and line.
public enum ConfigFile {
    public static func parse(_ text: String, file: String) throws(PGArchiveError) -> [ConfigEntry] {
        var entries: [ConfigEntry] = []
        // "\r\n" is one Character in Swift: normalise line ends before splitting.
        let normalized = text.replacingOccurrences(of: "\r\n", with: "\n")
        for (index, rawLine) in normalized.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let lineNumber = index + 1
            func fail(_ why: String) -> PGArchiveError {
                PGArchiveError("\(file):\(lineNumber): \(why)")
            }
            var chars = Array(rawLine)
            var i = 0
            func skipSpace() { while i < chars.count, chars[i] == " " || chars[i] == "\t" || chars[i] == "\r" { i += 1 } }
            skipSpace()
            if i == chars.count || chars[i] == "#" { continue }
            let keyStart = i
            while i < chars.count, chars[i].isLetter || chars[i].isNumber || chars[i] == "_" || chars[i] == "." { i += 1 }
            guard i > keyStart else { throw fail("expected a setting name, found '\(String(chars[i...]))'") }
            let key = String(chars[keyStart..<i]).lowercased()
            skipSpace()
            if i < chars.count, chars[i] == "=" { i += 1; skipSpace() }
            guard i < chars.count, chars[i] != "#" else { throw fail("setting '\(key)' has no value") }
            var value = ""
            if chars[i] == "'" {
                i += 1
                var closed = false
                while i < chars.count {
                    let c = chars[i]
                    if c == "'" {
                        if i + 1 < chars.count, chars[i + 1] == "'" { value.append("'"); i += 2; continue }
                        closed = true; i += 1; break
                    }
                    if c == "\\", i + 1 < chars.count {
                        let n = chars[i + 1]
                        switch n {
                        case "n": value.append("\n")
                        case "t": value.append("\t")
                        case "r": value.append("\r")
                        case "b": value.append("\u{08}")
                        case "f": value.append("\u{0C}")
                        default: value.append(n)
                        }
                        i += 2; continue
                    }
                    value.append(c); i += 1
                }
                guard closed else { throw fail("unterminated quoted string for '\(key)'") }
            } else {
                let start = i
                while i < chars.count, !" \t\r#".contains(chars[i]) { i += 1 }
                value = String(chars[start..<i])
                if value.contains("'") { throw fail("stray quote in value of '\(key)'") }
            }
            skipSpace()
            guard i == chars.count || chars[i] == "#" else {
                throw fail("unexpected text after the value of '\(key)': '\(String(chars[i...]))' (quote values that contain spaces)")
            }
            chars = []
            entries.append(ConfigEntry(key: key, value: value, file: file, line: lineNumber))
        }
        return entries
    }

    /// Quotes a value for writing back: always single-quoted, quotes and backslashes escaped.
    public static func quote(_ value: String) -> String {
        "'" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "''")
            .replacingOccurrences(of: "\n", with: "\\n").replacingOccurrences(of: "\r", with: "\\r") + "'"
    }
}
