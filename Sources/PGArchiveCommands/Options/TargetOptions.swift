import ArgumentParser
import Foundation
import PGArchiveCore

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

    /// The target (RecoveryTarget parsing and its errors live in PGArchiveCore).
    func target() throws -> RecoveryTarget {
        try TargetArguments(time: time, restorePoint: restorePoint, lsn: lsn, xid: xid, immediate: immediate, latest: latest).target()
    }
}
