import Foundation
import Postgres

/// Where a clone's recovery stops. Exactly one kind per clone.
public enum RecoveryTarget: Codable, Sendable, Equatable, CustomStringConvertible {
    case time(Date)
    case restorePoint(String)
    case lsn(LSN)
    case xid(UInt64)
    /// Stop as soon as the snapshot is consistent.
    case immediate
    /// Replay everything in the archive, the newest `.partial` segment included.
    case latest

    public var description: String {
        switch self {
        case .time(let date): return "time \(TargetTimeParser.postgresLiteral(date)) (\(ISO8601.utc(date)))"
        case .restorePoint(let name): return "restore point \(name)"
        case .lsn(let lsn): return "LSN \(lsn)"
        case .xid(let xid): return "transaction \(xid)"
        case .immediate: return "the snapshot's consistent point (immediate)"
        case .latest: return "the newest WAL in the archive (latest)"
        }
    }
}

/// A target recovery resolved: the snapshot it starts from, the restore point it stops at
/// (when pgarchive recorded one) and the timeline it follows. The one resolution of a
/// target for clones, temporary clones and `restore --to`; `RecoverySettings` renders it.
public struct RecoveryPlan: Sendable, Equatable {
    public var target: RecoveryTarget
    public var snapshot: SnapshotMetadata
    /// The recorded position of a `.restorePoint` target; nil for other kinds, and for a
    /// restore point not made through pgarchive (then only with an explicit snapshot).
    public var restorePoint: RestorePoint?

    /// `recovery_target_timeline`: every recovery follows the newest timeline the archive's
    /// history files lead to, so a snapshot from before a failover reaches a target after it.
    public static let timeline = "latest"
    public var timeline: String { Self.timeline }

    public init(target: RecoveryTarget, snapshot: SnapshotMetadata, restorePoint: RestorePoint? = nil) {
        self.target = target
        self.snapshot = snapshot
        self.restorePoint = restorePoint
    }

    /// Resolves `target`, as a pure function of what the container holds: the explicit
    /// snapshot (`--snapshot`) when given, else the one `SnapshotChooser` picks among
    /// `snapshots`; the restore point of that name among `restorePoints`. `now`: when
    /// given, a time target more than a minute after it is refused (clones; `restore --to`
    /// passes nil and leaves such a target to PostgreSQL).
    public static func resolve(_ target: RecoveryTarget, snapshot explicit: SnapshotMetadata?, among snapshots: [SnapshotMetadata],
                               restorePoints: [RestorePoint], now: Date?) throws(PGArchiveError) -> RecoveryPlan {
        try validate(target, now: now)
        var point: RestorePoint?
        if case .restorePoint(let name) = target { point = restorePoints.first { $0.name == name } }
        let base: SnapshotMetadata
        if let explicit { base = explicit } else { base = try SnapshotChooser.choose(for: target, among: snapshots, restorePoint: point) }
        return RecoveryPlan(target: target, snapshot: base, restorePoint: point)
    }

    /// What is refused before any snapshot is looked at: a time target in the future (when
    /// `now` is given) and a restore point name that could not be one.
    static func validate(_ target: RecoveryTarget, now: Date?) throws(PGArchiveError) {
        if let now, case .time(let date) = target, date > now.addingTimeInterval(60) {
            throw PGArchiveError("target \(ISO8601.utc(date)) is in the future")
        }
        if case .restorePoint(let name) = target { try ObjectName.validate(name, kind: "restore point") }
    }
}

extension Container {
    /// `RecoveryPlan.resolve` over this container's snapshots and restore points (read only
    /// as far as the target needs them). `refusingFutureTimes`: clones refuse a time target
    /// more than a minute ahead; `restore --to` does not.
    func recoveryPlan(for target: RecoveryTarget, snapshot explicit: String?, refusingFutureTimes: Bool) throws(PGArchiveError) -> RecoveryPlan {
        let now = refusingFutureTimes ? Date() : nil
        try RecoveryPlan.validate(target, now: now)
        var points: [RestorePoint] = []
        if case .restorePoint = target { points = try restorePoints.list() }
        if let explicit {
            return try RecoveryPlan.resolve(target, snapshot: try snapshots.get(explicit), among: [], restorePoints: points, now: now)
        }
        return try RecoveryPlan.resolve(target, snapshot: nil, among: try snapshots.list(), restorePoints: points, now: now)
    }
}
