import Foundation
import Postgres

/// The contiguity of a WAL archive across timeline switches, on file names only (pure, so
/// unit tests can use made-up archives).
public enum WALContiguity {
    /// One timeline of a path: timeline `timeline` is read from segment `from` on.
    public struct Step: Sendable, Equatable {
        public var timeline: UInt32
        public var from: UInt64
        public init(timeline: UInt32, from: UInt64) {
            self.timeline = timeline
            self.from = from
        }
    }

    /// The archive's files, reduced to what contiguity needs.
    public struct Inventory: Sendable {
        /// Complete segments (plain or compressed) per timeline.
        public var complete: [UInt32: Set<UInt64>] = [:]
        public var partial: [UInt32: Set<UInt64>] = [:]
        /// History files present, with their text (nil: present but unreadable).
        public var histories: [UInt32: String?] = [:]

        public init() {}

        public init(files: [WALFileName], histories: [UInt32: String?], segmentSize: UInt64) {
            for file in files {
                guard let n = file.segmentNumber(segmentSize: segmentSize) else { continue }
                if file.isPartial { partial[file.timeline, default: []].insert(n) } else { complete[file.timeline, default: []].insert(n) }
            }
            self.histories = histories
        }

        public var newestTimeline: UInt32? { (Array(complete.keys) + Array(partial.keys)).max() }
        func newestSegment(on timeline: UInt32) -> UInt64? {
            ((complete[timeline] ?? []).union(partial[timeline] ?? [])).max()
        }
        func has(_ timeline: UInt32, _ segment: UInt64, partialOK: Bool) -> Bool {
            complete[timeline]?.contains(segment) == true || (partialOK && partial[timeline]?.contains(segment) == true)
        }
    }

    public struct Result: Sendable, Equatable {
        public var problems: [String] = []
        /// Segments the range spans (checked for presence).
        public var segmentsChecked = 0
        /// The path followed, oldest timeline first.
        public var path: [Step] = []
        public var end: WALFileName?
    }

    /// Checks that every segment from `start` (a snapshot's REDO segment on its timeline) to
    /// the newest segment of the newest timeline is present, following the newest timeline's
    /// history file: segments of an older timeline up to its switch segment, then the newer
    /// timeline from its switch segment on. Segments before the newest must be complete; the
    /// newest may be `.partial`. `startLabel` names what needs the range (in messages).
    public static func check(_ inventory: Inventory, start: (timeline: UInt32, segment: UInt64), startLabel: String,
                             segmentSize: UInt64, location: String = "wal_archive/") -> Result {
        var result = Result()
        guard let newestTLI = inventory.newestTimeline, let endSegment = inventory.newestSegment(on: newestTLI) else {
            result.problems.append("\(location) holds no WAL segments at all, so \(startLabel) cannot be restored: is pg_receivewal running (`pgarchive container status`)?")
            return result
        }
        func name(_ tli: UInt32, _ n: UInt64) -> String { WALFileName(timeline: tli, segmentNumber: n, segmentSize: segmentSize).fileName }

        // The path to the newest timeline: from its history file, or guessed from the
        // segments present when the file is missing (and reported).
        var path: [Step] = []
        if newestTLI > 1 || inventory.histories[newestTLI] != nil {
            let historyName = WALFileName.history(timeline: newestTLI).fileName
            if let text = inventory.histories[newestTLI] ?? nil, let entries = parseHistory(text) {
                var from: UInt64 = 0
                for entry in entries {
                    path.append(Step(timeline: entry.timeline, from: from))
                    from = entry.switchPoint.segmentNumber(segmentSize: segmentSize)
                }
                path.append(Step(timeline: newestTLI, from: from))
            } else if newestTLI > 1 {
                let what = inventory.histories[newestTLI] == nil ? "is missing from \(location)" : "cannot be read (malformed)"
                result.problems.append("timeline history file \(historyName) \(what): restores cannot follow the switch to timeline \(newestTLI); copy it from the upstream's pg_wal/ (or standby/pg_wal/) into \(location)")
                // Guess: each timeline present takes over at its oldest segment.
                let timelines = Set(inventory.complete.keys).union(inventory.partial.keys).filter { $0 <= newestTLI }.sorted()
                for tli in timelines {
                    let first = ((inventory.complete[tli] ?? []).union(inventory.partial[tli] ?? [])).min() ?? 0
                    path.append(Step(timeline: tli, from: path.isEmpty ? 0 : first))
                }
            }
        }
        if path.isEmpty { path = [Step(timeline: newestTLI, from: 0)] }

        // The snapshot's own timeline must be on the path.
        guard let startIndex = path.lastIndex(where: { $0.timeline == start.timeline && $0.from <= start.segment })
                ?? path.firstIndex(where: { $0.timeline == start.timeline }) else {
            result.problems.append("\(startLabel) is on timeline \(start.timeline), which is not an ancestor of the archive's newest timeline \(newestTLI): it cannot be restored to the newest WAL; take a new snapshot (`pgarchive snapshot create`) and delete it")
            return result
        }
        path = Array(path[startIndex...])
        result.path = path
        result.end = WALFileName(timeline: newestTLI, segmentNumber: endSegment, segmentSize: segmentSize,
                                 isPartial: !inventory.has(newestTLI, endSegment, partialOK: false))
        guard start.segment <= endSegment else {
            result.problems.append("\(startLabel) starts at \(name(start.timeline, start.segment)), after the newest segment in \(location) (\(name(newestTLI, endSegment))): WAL is missing; check pg_receivewal (`pgarchive container status`)")
            return result
        }

        var missing: [(UInt32, UInt64)] = []
        for segment in start.segment...endSegment {
            // The timeline that holds this segment: the newest step starting at or before it.
            let tli = path.last { $0.from <= segment }?.timeline ?? path[0].timeline
            result.segmentsChecked += 1
            if !inventory.has(tli, segment, partialOK: segment == endSegment) { missing.append((tli, segment)) }
        }
        // Runs of consecutive missing segments, one line each.
        var index = 0
        while index < missing.count {
            var last = index
            while last + 1 < missing.count && missing[last + 1].1 == missing[last].1 + 1 && missing[last + 1].0 == missing[index].0 { last += 1 }
            let (tli, first) = missing[index]
            let onlyPartial = index == last && inventory.partial[tli]?.contains(first) == true
            let what = index == last
                ? "WAL segment \(name(tli, first)) is \(onlyPartial ? "only present as .partial" : "missing") in \(location)"
                : "WAL segments \(name(tli, first)) to \(name(tli, missing[last].1)) (\(last - index + 1)) are missing in \(location)"
            result.problems.append("\(what): \(startLabel) and older cannot be restored past it; put it back if you have a copy (the upstream's pg_wal/), else take a new snapshot (`pgarchive snapshot create`) and delete the snapshots from before the gap")
            index = last + 1
        }
        return result
    }
}
