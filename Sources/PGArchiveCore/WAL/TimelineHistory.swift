import Foundation
import Postgres

/// Timeline history files (`N.history`), as the WAL archive keeps them beside the segments.
extension WALContiguity {
    /// A timeline history file's entries: timeline `timeline` ended at `switchPoint`, where
    /// the next one in the file (or the file's own timeline) began.
    public struct HistoryEntry: Sendable, Equatable {
        public var timeline: UInt32
        public var switchPoint: LSN
        public init(timeline: UInt32, switchPoint: LSN) {
            self.timeline = timeline
            self.switchPoint = switchPoint
        }
    }

    /// Parses `N.history`: lines `parentTLI <tab> switchpoint <tab> reason`; comments and
    /// blank lines are skipped. nil when a line is malformed.
    public static func parseHistory(_ text: String) -> [HistoryEntry]? {
        var result: [HistoryEntry] = []
        for line in text.split(separator: "\n") {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            let fields = trimmed.split(whereSeparator: { $0 == "\t" || $0 == " " })
            guard fields.count >= 2, let tli = UInt32(fields[0]), let lsn = LSN(String(fields[1])) else { return nil }
            result.append(HistoryEntry(timeline: tli, switchPoint: lsn))
        }
        return result
    }
}
