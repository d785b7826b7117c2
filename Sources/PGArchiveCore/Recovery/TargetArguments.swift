import Foundation
import Postgres

/// The recovery target as `clone create` and `restore` take it on the command line: at most
/// one of a time, restore point, LSN, xid, `immediate` or `latest`; none means latest.
public struct TargetArguments: Sendable {
    public var time: String?
    public var restorePoint: String?
    public var lsn: String?
    public var xid: UInt64?
    public var immediate = false
    public var latest = false

    public init(time: String? = nil, restorePoint: String? = nil, lsn: String? = nil, xid: UInt64? = nil,
                immediate: Bool = false, latest: Bool = false) {
        self.time = time
        self.restorePoint = restorePoint
        self.lsn = lsn
        self.xid = xid
        self.immediate = immediate
        self.latest = latest
    }

    /// The target, with an error naming what cannot be read or that more than one was given.
    public func target() throws -> RecoveryTarget {
        var targets: [RecoveryTarget] = []
        if let time { targets.append(.time(try TargetTimeParser.parse(time))) }
        if let restorePoint { targets.append(.restorePoint(restorePoint)) }
        if let lsn {
            guard let parsed = LSN(lsn) else { throw PGArchiveError("cannot read '\(PGArchiveError.echo(lsn))' as an LSN; write it like 0/3000028") }
            targets.append(.lsn(parsed))
        }
        if let xid { targets.append(.xid(xid)) }
        if immediate { targets.append(.immediate) }
        if latest { targets.append(.latest) }
        guard targets.count <= 1 else {
            throw PGArchiveError("give at most one of --time, --restore-point, --lsn, --xid, --immediate, --latest")
        }
        return targets.first ?? .latest
    }
}

extension Container {
    /// Logs what a time target was read as (UTC and the literal recovery_target_time gets),
    /// so the operator sees how a time without zone was taken.
    public func logResolvedTarget(_ target: RecoveryTarget) {
        if case .time(let date) = target {
            logger.info("target time resolved to \(ISO8601.utc(date)) (\(TargetTimeParser.postgresLiteral(date)))")
        }
    }
}
