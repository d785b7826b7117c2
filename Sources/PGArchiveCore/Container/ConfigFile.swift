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
        // Unicode scalars, not Characters: a quote or backslash followed by a combining mark
        // is one Character in Swift, and would then neither close a string nor escape; and
        // "\r\n" is one Character too. `\r` is white space (as in guc-file.l), so CRLF works.
        for (index, rawLine) in text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let lineNumber = index + 1
            func fail(_ why: String) -> PGArchiveError {
                PGArchiveError("\(file):\(lineNumber): \(why)")
            }
            // A NUL cannot be passed on to libpq or to a command line (C strings end there),
            // so a value with one would silently mean something shorter.
            if rawLine.contains("\0") { throw fail("contains a NUL character") }
            let chars = Array(rawLine)
            func string(_ slice: ArraySlice<Unicode.Scalar>) -> String {
                var result = ""
                result.unicodeScalars.append(contentsOf: slice)
                return result
            }
            var i = 0
            func skipSpace() { while i < chars.count, chars[i] == " " || chars[i] == "\t" || chars[i] == "\r" { i += 1 } }
            skipSpace()
            if i == chars.count || chars[i] == "#" { continue }
            let keyStart = i
            while i < chars.count, chars[i].properties.isAlphabetic || chars[i].properties.numericType != nil
                || chars[i] == "_" || chars[i] == "." { i += 1 }
            guard i > keyStart else { throw fail("expected a setting name, found '\(PGArchiveError.echo(string(chars[i...])))'") }
            let key = string(chars[keyStart..<i]).lowercased()
            skipSpace()
            if i < chars.count, chars[i] == "=" { i += 1; skipSpace() }
            guard i < chars.count, chars[i] != "#" else { throw fail("setting '\(PGArchiveError.echo(key))' has no value") }
            var value = String.UnicodeScalarView()
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
                guard closed else { throw fail("unterminated quoted string for '\(PGArchiveError.echo(key))'") }
            } else {
                let start = i
                while i < chars.count, !" \t\r#".unicodeScalars.contains(chars[i]) { i += 1 }
                value.append(contentsOf: chars[start..<i])
                if value.contains("'") { throw fail("stray quote in value of '\(PGArchiveError.echo(key))'") }
            }
            skipSpace()
            guard i == chars.count || chars[i] == "#" else {
                throw fail("unexpected text after the value of '\(PGArchiveError.echo(key))': '\(PGArchiveError.echo(string(chars[i...])))' (quote values that contain spaces)")
            }
            entries.append(ConfigEntry(key: key, value: String(value), file: file, line: lineNumber))
        }
        return entries
    }

    /// Quotes a value for writing back: always single-quoted, quotes and backslashes escaped.
    public static func quote(_ value: String) -> String {
        // Scalar by scalar: "\r\n" and a quote with a combining mark are single Characters,
        // which a Character-wise replacement would let through unescaped.
        var quoted = "'"
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\\": quoted += "\\\\"
            case "'": quoted += "''"
            case "\n": quoted += "\\n"
            case "\r": quoted += "\\r"
            default: quoted.unicodeScalars.append(scalar)
            }
        }
        return quoted + "'"
    }
}
