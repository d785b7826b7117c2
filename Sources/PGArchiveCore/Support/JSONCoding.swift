import Foundation

/// The project's JSON: metadata files (snapshots, clones, dumps, restore points, verify and
/// cron records) and `--json` output, pretty-printed with sorted keys, times in UTC.
public enum JSONCoding {
    /// Metadata keeps times to the microsecond (`2026-11-21T08:15:00.123456Z`): a snapshot's
    /// restorable-from time rounded to the second could offer it for a target it cannot reach.
    public static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        e.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(ISO8601.utcMicroseconds(date))
        }
        return e
    }()
    public static let decoder: JSONDecoder = {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .custom { decoder in
            let text = try decoder.singleValueContainer().decode(String.self)
            do { return try TargetTimeParser.parse(text, localTimeZone: TimeZone(identifier: "UTC")!) } catch {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "bad time '\(text)'"))
            }
        }
        return d
    }()
}
