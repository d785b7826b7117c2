import Foundation
import Postgres

/// What a restore must reach, measured before it starts (docs/ARCHITECTURE.md, the
/// invariant "a restore reaches its target or fails").
public struct RecoveryExpectation: Sendable, Equatable {
    public var target: RecoveryTarget
    /// For `--latest`: the start LSN of the last complete WAL record in the archive's newest
    /// segment (the `.partial` one included), as pg_waldump reads it. Recovery has reached the
    /// archive's newest received byte when it ended past this LSN. nil when it could not be
    /// measured (then only the target kind is checked).
    public var lastRecord: LSN?
    /// The newest segment file, for messages.
    public var newestSegment: String?

    public init(target: RecoveryTarget, lastRecord: LSN? = nil, newestSegment: String? = nil) {
        self.target = target
        self.lastRecord = lastRecord
        self.newestSegment = newestSegment
    }
}

/// Pure decisions about where a recovery ended, so unit tests can feed them made-up
/// history files and pg_waldump output.
public enum RecoveryCheck {
    /// The last line of a promoted server's new `TLI.history` file: recovery on
    /// `parentTimeline` ended at `switchPoint` (the end of the last record replayed), for
    /// `reason` (PostgreSQL's getRecoveryStopReason(): "no recovery target specified",
    /// "reached consistency", `at restore point "NAME"`, "before|after transaction N",
    /// "before|after LSN X/Y", "before|after TIMESTAMPTZ").
    public struct Stop: Sendable, Equatable {
        public var parentTimeline: UInt32
        public var switchPoint: LSN
        public var reason: String
    }

    /// The last entry of a history file's text; nil when there is none or it is malformed.
    public static func lastStop(history text: String) -> Stop? {
        var last: Stop?
        for line in text.split(separator: "\n") {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            let fields = trimmed.split(separator: "\t", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count >= 2, let tli = UInt32(fields[0]), let lsn = LSN(String(fields[1])) else { return nil }
            last = Stop(parentTimeline: tli, switchPoint: lsn,
                        reason: fields.count > 2 ? fields[2].trimmingCharacters(in: .whitespaces) : "")
        }
        return last
    }

    /// nil when `stop` shows that recovery reached what `expected` asked for, else what is
    /// wrong (one sentence, no advice).
    public static func problem(_ stop: Stop, expected: RecoveryExpectation) -> String? {
        let reason = stop.reason
        let noTarget = reason.hasPrefix("no recovery target specified")
        let ended = "recovery ended at LSN \(stop.switchPoint) (\(reason.isEmpty ? "no reason recorded" : reason))"
        switch expected.target {
        case .latest:
            guard let last = expected.lastRecord else { return nil }
            if stop.switchPoint > last { return nil }
            return "\(ended), before the last WAL record in the archive at LSN \(last)\(expected.newestSegment.map { " (in \($0))" } ?? ""): WAL between them was not replayed"
        case .immediate:
            return reason.hasPrefix("reached consistency") ? nil : "\(ended), not at the snapshot's consistent point"
        case .restorePoint(let name):
            return reason == "at restore point \"\(name)\"" ? nil : "\(ended), not at restore point \(name)"
        case .lsn(let lsn):
            for prefix in ["after LSN ", "before LSN "] where reason.hasPrefix(prefix) {
                if let at = LSN(String(reason.dropFirst(prefix.count))), at >= lsn { return nil }
            }
            return "\(ended), short of the target LSN \(lsn)"
        case .xid(let xid):
            let short = String(UInt32(truncatingIfNeeded: xid))
            if reason == "after transaction \(short)" || reason == "before transaction \(short)" { return nil }
            return "\(ended), not at transaction \(xid)"
        case .time(let date):
            for prefix in ["before ", "after "] where reason.hasPrefix(prefix) && !noTarget {
                let text = String(reason.dropFirst(prefix.count))
                guard !text.hasPrefix("transaction"), !text.hasPrefix("LSN") else { break }
                // A stop at a commit record: its time is at or after the target. PostgreSQL 12
                // promoting at end-of-WAL records the never-set stop time (2000-01-01).
                guard let at = parseTimestamp(text) else { return nil }
                if at >= date.addingTimeInterval(-0.000_001) { return nil }
                return "\(ended): the stop time lies before the target \(ISO8601.utc(date))"
            }
            return "\(ended), not at a commit after the target time \(ISO8601.utc(date))"
        }
    }

    /// Parses timestamptz_to_str()'s output, `2026-12-01 22:28:54.014735+00` (ISO, any offset
    /// `±HH[:MM[:SS]]`, fraction optional).
    public static func parseTimestamp(_ text: String) -> Date? {
        let chars = Array(text.trimmingCharacters(in: .whitespaces))
        func number(_ range: Range<Int>) -> Int? {
            guard range.upperBound <= chars.count else { return nil }
            let digits = chars[range]
            guard digits.allSatisfy(\.isASCIIDigit) else { return nil }
            return Int(String(digits))
        }
        guard chars.count >= 19, chars[4] == "-", chars[7] == "-", chars[10] == " ", chars[13] == ":", chars[16] == ":",
              let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
              let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19) else { return nil }
        var i = 19
        var fraction = 0.0
        if i < chars.count, chars[i] == "." {
            i += 1
            let start = i
            while i < chars.count, chars[i].isASCIIDigit { i += 1 }
            guard i > start, let f = Double("0." + String(chars[start..<i])) else { return nil }
            fraction = f
        }
        var offset = 0
        if i < chars.count {
            guard chars[i] == "+" || chars[i] == "-" else { return nil }
            let sign = chars[i] == "-" ? -1 : 1
            let parts = String(chars[(i + 1)...]).split(separator: ":", omittingEmptySubsequences: false)
            guard (1...3).contains(parts.count) else { return nil }
            var seconds = 0
            for (index, part) in parts.enumerated() {
                guard part.count == 2, let value = Int(part) else { return nil }
                seconds += value * [3600, 60, 1][index]
            }
            offset = sign * seconds
        }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        guard let base = calendar.date(from: DateComponents(year: year, month: month, day: day, hour: hour, minute: minute, second: second)) else { return nil }
        return base.addingTimeInterval(fraction - Double(offset))
    }

    /// The start LSN of the last complete record pg_waldump printed (`lsn: 0/02025908,`), from
    /// its standard output; nil when it printed none.
    public static func lastRecordStart(waldumpOutput text: String) -> LSN? {
        var searchEnd = text.endIndex
        while let range = text.range(of: "lsn: ", options: .backwards, range: text.startIndex..<searchEnd) {
            let rest = text[range.upperBound...].prefix { $0 != "," && $0 != " " && $0 != "\n" }
            if let lsn = LSN(String(rest)) { return lsn }
            searchEnd = range.lowerBound
        }
        return nil
    }

    /// The oldest upstream major version pgarchive accepts. PostgreSQL 12 promotes at the end
    /// of WAL when a recovery target is never reached (13 and newer stop with `FATAL: recovery
    /// ended before configured recovery target was reached`), so a restore to a target past
    /// the archive's end would silently come back short.
    public static let minimumUpstreamMajorVersion = 13

    /// nil when an upstream of major version `major` (reported as `serverVersion`) can be
    /// archived, else the error text.
    public static func upstreamVersionProblem(major: Int, serverVersion: String) -> String? {
        guard major < minimumUpstreamMajorVersion else { return nil }
        return "the upstream runs PostgreSQL \(serverVersion); pgarchive needs PostgreSQL \(minimumUpstreamMajorVersion) or newer (PostgreSQL \(major) promotes a restore at the end of the WAL when its target is never reached, so a restore could come back short without an error): upgrade the upstream"
    }
}
