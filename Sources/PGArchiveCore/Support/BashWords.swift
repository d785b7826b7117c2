import Foundation

/// Bash's quoting, for words that reach shell completion verbatim.
public enum BashWords {
    /// A shell word as bash would pass it on: single quotes literal, double quotes with their
    /// backslash escapes, bare backslash escapes (completion inserts `\:`). Shell words reach
    /// completion verbatim, quotes and all.
    public static func unquote(_ word: String) -> String {
        var result = ""
        var quote: Character?
        var escaped = false
        for c in word {
            if escaped {
                if quote == "\"" && !"\"\\$`".contains(c) { result.append("\\") }
                result.append(c)
                escaped = false
            } else if quote == "'" {
                if c == "'" { quote = nil } else { result.append(c) }
            } else if c == "\\" {
                escaped = true
            } else if quote == "\"" {
                if c == "\"" { quote = nil } else { result.append(c) }
            } else if c == "'" || c == "\"" {
                quote = c
            } else {
                result.append(c)
            }
        }
        return result
    }
}
