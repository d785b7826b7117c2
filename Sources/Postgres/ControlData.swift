import Foundation

/// What `pg_controldata` reports about a data directory: the state, the last checkpoint (or
/// restartpoint, on a standby) and its REDO location, the minimum recovery point.
///
/// pgarchive records these for every snapshot: a clone of the snapshot starts replaying at
/// `redoLocation` (so WAL before `redoWALFile` is not needed for it) and is consistent only
/// past `minimumRecoveryEndingLocation`.
public struct ControlData: Sendable, Equatable {
    /// "Database cluster state".
    public enum ClusterState: Sendable, Equatable, CustomStringConvertible {
        case startingUp
        case shutDown
        /// A standby or clone stopped cleanly while still in recovery.
        case shutDownInRecovery
        case shuttingDown
        case inCrashRecovery
        /// A standby, or a clone not yet promoted.
        case inArchiveRecovery
        /// A primary (or promoted clone) running, or one that crashed.
        case inProduction
        case other(String)

        public init(_ text: String) {
            switch text {
            case "starting up": self = .startingUp
            case "shut down": self = .shutDown
            case "shut down in recovery": self = .shutDownInRecovery
            case "shutting down": self = .shuttingDown
            case "in crash recovery": self = .inCrashRecovery
            case "in archive recovery": self = .inArchiveRecovery
            case "in production": self = .inProduction
            default: self = .other(text)
            }
        }

        /// pg_controldata's words, e.g. `in archive recovery`.
        public var description: String {
            switch self {
            case .startingUp: "starting up"
            case .shutDown: "shut down"
            case .shutDownInRecovery: "shut down in recovery"
            case .shuttingDown: "shutting down"
            case .inCrashRecovery: "in crash recovery"
            case .inArchiveRecovery: "in archive recovery"
            case .inProduction: "in production"
            case .other(let text): text
            }
        }
    }

    /// "Database system identifier": the same on the upstream, the standby and every clone.
    public var systemIdentifier: UInt64
    public var clusterState: ClusterState
    /// "pg_control last modified".
    public var lastModified: Date
    /// "Latest checkpoint location": where the checkpoint record is.
    public var latestCheckpointLocation: LSN
    /// "Latest checkpoint's REDO location": where recovery from this data directory starts.
    public var redoLocation: LSN
    /// "Latest checkpoint's REDO WAL file": the oldest segment recovery needs.
    public var redoWALFile: String
    /// "Latest checkpoint's TimeLineID".
    public var timeline: UInt32
    /// "Latest checkpoint's PrevTimeLineID".
    public var previousTimeline: UInt32
    /// "Time of latest checkpoint".
    public var checkpointTime: Date
    /// "Minimum recovery ending location": recovery must replay at least this far to be
    /// consistent; `nil` when pg_controldata shows `0/0` (not in recovery).
    public var minimumRecoveryEndingLocation: LSN?
    /// "Min recovery ending loc's timeline"; `nil` when 0.
    public var minimumRecoveryEndingTimeline: UInt32?
    /// "Bytes per WAL segment".
    public var walSegmentSize: UInt64
    /// "wal_level setting" (`replica`, `logical`, `minimal`).
    public var walLevel: String
    /// Every `label: value` line as printed, for anything not modelled above.
    public var fields: [String: String]

    /// Parses the output of `pg_controldata` run with `LC_ALL=C`.
    ///
    /// Times carry no zone in the C locale (`Sat Nov 21 09:11:48 2026`): they are read in
    /// `timeZone`, UTC by default because `PgControlData` runs the tool with `TZ=UTC`. The
    /// `Sat 21 Nov 2026 08:15:00 AM UTC` form (with a zone) is accepted too.
    /// Throws `PostgresError` (`.unexpectedResult`) naming the missing or malformed field.
    public static func parse(_ output: String, timeZone: TimeZone = TimeZone(identifier: "UTC")!) throws(PostgresError) -> ControlData {
        var fields: [String: String] = [:]
        for line in output.split(whereSeparator: \.isNewline) {
            // Labels contain no colon except the separator; values may contain colons (times).
            guard let colon = line.firstIndex(of: ":") else { continue }
            let label = line[..<colon].trimmingCharacters(in: .whitespaces)
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            if fields[label] == nil { fields[label] = value }
        }

        func text(_ label: String) throws(PostgresError) -> String {
            guard let value = fields[label] else {
                throw .unexpectedResult("pg_controldata output has no '\(label)' line (was it run with LC_ALL=C?)")
            }
            return value
        }
        func malformed(_ label: String, _ value: String, _ what: String) -> PostgresError {
            .unexpectedResult("pg_controldata '\(label)' is '\(value)', which is not \(what)")
        }
        func lsn(_ label: String) throws(PostgresError) -> LSN {
            let value = try text(label)
            guard let lsn = LSN(value) else { throw malformed(label, value, "a WAL location") }
            return lsn
        }
        func number<T: FixedWidthInteger>(_ label: String, as: T.Type) throws(PostgresError) -> T {
            let value = try text(label)
            guard let number = T(value) else { throw malformed(label, value, "a number") }
            return number
        }
        func date(_ label: String) throws(PostgresError) -> Date {
            let value = try text(label)
            guard let date = parseTime(value, timeZone: timeZone) else { throw malformed(label, value, "a time") }
            return date
        }

        let minRecovery = try lsn("Minimum recovery ending location")
        let minRecoveryTimeline = try number("Min recovery ending loc's timeline", as: UInt32.self)
        return ControlData(
            systemIdentifier: try number("Database system identifier", as: UInt64.self),
            clusterState: ClusterState(try text("Database cluster state")),
            lastModified: try date("pg_control last modified"),
            latestCheckpointLocation: try lsn("Latest checkpoint location"),
            redoLocation: try lsn("Latest checkpoint's REDO location"),
            redoWALFile: try text("Latest checkpoint's REDO WAL file"),
            timeline: try number("Latest checkpoint's TimeLineID", as: UInt32.self),
            previousTimeline: try number("Latest checkpoint's PrevTimeLineID", as: UInt32.self),
            checkpointTime: try date("Time of latest checkpoint"),
            minimumRecoveryEndingLocation: minRecovery == .zero ? nil : minRecovery,
            minimumRecoveryEndingTimeline: minRecoveryTimeline == 0 ? nil : minRecoveryTimeline,
            walSegmentSize: try number("Bytes per WAL segment", as: UInt64.self),
            walLevel: try text("wal_level setting"),
            fields: fields)
    }

    /// Runs `pg_controldata` on `dataDirectory` (in the C locale, UTC) and parses it. Works on
    /// a running or stopped cluster; throws `CommandError` if the tool fails (no such
    /// directory, not a data directory) and `PostgresError` if its output cannot be parsed.
    public static func read(dataDirectory: String, binaries: PostgresBinaries) async throws -> ControlData {
        let output = try await PgControlData(binaries: binaries, dataDirectory: dataDirectory).command.runChecked()
        do {
            return try parse(output.standardOutput)
        } catch {
            throw error.adding(context: "reading pg_controldata of \(dataDirectory)")
        }
    }

    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// Parses the `%c` output of strftime in the C locale (`Sat Nov 21 09:11:48 2026`, day
    /// padded with a space) and in English locales (`Sat 21 Nov 2026 08:15:00 AM UTC`).
    static func parseTime(_ text: String, timeZone: TimeZone) -> Date? {
        let words = text.split(separator: " ").map(String.init)
        var components = DateComponents()
        var zone = timeZone
        let clock: String
        if words.count == 5, let month = months.firstIndex(of: words[1]) {
            // Sat Nov 21 09:11:48 2026
            components.month = month + 1
            components.day = Int(words[2])
            components.year = Int(words[4])
            clock = words[3]
        } else if words.count >= 5, let month = months.firstIndex(of: words[2]) {
            // Sat 21 Nov 2026 08:15:00 AM UTC
            components.day = Int(words[1])
            components.month = month + 1
            components.year = Int(words[3])
            clock = words[4]
            var rest = words.dropFirst(5)
            if let meridiem = rest.first, meridiem == "AM" || meridiem == "PM" {
                components.hour = meridiem == "PM" ? 12 : 0
                rest = rest.dropFirst()
            }
            if let abbreviation = rest.first {
                guard let named = TimeZone(abbreviation: abbreviation) else { return nil }
                zone = named
            }
        } else {
            return nil
        }
        let parts = clock.split(separator: ":").compactMap { Int($0) }
        guard parts.count == 3, components.day != nil, components.year != nil else { return nil }
        if let meridiemOffset = components.hour {
            guard (1...12).contains(parts[0]) else { return nil }
            components.hour = parts[0] % 12 + meridiemOffset
        } else {
            components.hour = parts[0]
        }
        components.minute = parts[1]
        components.second = parts[2]
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        return calendar.date(from: components)
    }
}
