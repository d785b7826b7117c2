import Foundation

/// The one error type pgarchive shows to people. Its message says what failed, with which
/// name, and what to do next; `exitCode` is what the process exits with.
public struct PGArchiveError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var exitCode: Int32

    public init(_ message: String, exitCode: Int32 = 1) {
        self.message = message
        self.exitCode = exitCode
    }

    public var description: String { message }

    /// Exit code for "temporary failure, try again later" (EX_TEMPFAIL), e.g. a held lock.
    public static let temporaryFailureExitCode: Int32 = 75
}

/// Refuses to run as root: PostgreSQL will not, and files created by root would be
/// unusable by the service user.
public enum RootCheck {
    public static func refuse(effectiveUID: UInt32, serviceUser: String = "postgres") throws(PGArchiveError) {
        if effectiveUID == 0 {
            throw PGArchiveError(
                "pgarchive must not run as root; run it as the service user that owns the container, e.g. `runuser -u \(serviceUser) -- pgarchive …` or `sudo -u \(serviceUser) pgarchive …`")
        }
    }
}

extension PGArchiveError {
    /// Text a person typed, made safe to quote inside a one-line message: line breaks, tabs,
    /// NUL and other control or invisible format characters (and a combining mark at the
    /// start) are written as escapes (`\n`, `\u{0}`), and text longer than `limit` characters
    /// is cut with `…`. Without this, a value with a newline in it (a config value written
    /// `'a\nb'`, a `--time` argument) would split the "pgarchive: error: …" line in two.
    public static func echo(_ text: String, limit: Int = 120) -> String {
        var result = ""
        var count = 0
        for scalar in text.unicodeScalars {
            if count >= limit { result += "…"; break }
            count += 1
            switch scalar {
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            default:
                // A mark (or emoji modifier) first would combine with the quote before it.
                let combinesBackwards = count == 1 && (scalar.properties.isEmojiModifier
                    || [.nonspacingMark, .spacingMark, .enclosingMark].contains(scalar.properties.generalCategory))
                switch scalar.properties.generalCategory {
                case _ where combinesBackwards:
                    result += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
                case .control, .format, .lineSeparator, .paragraphSeparator, .surrogate, .unassigned, .privateUse:
                    result += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
                default:
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result
    }
}
