import ArgumentParser
import Foundation
import PGArchiveCore
import Postgres

/// The recovery target options shared by `clone create` and `restore`; at most one.
struct TargetOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Recover to this time: ISO-8601, with or without zone (local time), e.g. '2026-11-21 14:30'.", valueName: "time"))
    var time: String?

    @Option(name: .customLong("restore-point"), help: ArgumentHelp("Recover to a restore point made with `pgarchive restorepoint create`.", valueName: "name"), completion: .restorePointNames)
    var restorePoint: String?

    @Option(help: ArgumentHelp("Recover to this WAL location, e.g. 0/3000028.", valueName: "lsn"))
    var lsn: String?

    @Option(help: ArgumentHelp("Recover to the commit of this transaction id.", valueName: "xid"))
    var xid: UInt64?

    @Flag(help: "Stop as soon as the snapshot is consistent.")
    var immediate = false

    @Flag(help: "Replay everything in the archive, including the segment still being received (the default).")
    var latest = false

    func target() throws -> RecoveryTarget {
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
