import Foundation
import Postgres

/// A standby must never come up as a primary: PostgreSQL started on `standby/` without
/// `standby.signal` ends recovery at the end of the archive, promotes onto a new timeline
/// and accepts writes, and from then on the standby (and every snapshot of it) is no longer a
/// copy of the upstream.
extension Standby {
    var standbySignalFile: String { dataDirectory + "/standby.signal" }

    /// Refuses a data directory without standby.signal (nothing is started).
    public func requireStandbySignal() throws {
        guard !FileManager.default.fileExists(atPath: standbySignalFile) else { return }
        throw PGArchiveError(Self.missingSignalMessage(dataDirectory: dataDirectory))
    }

    static func missingSignalMessage(dataDirectory: String) -> String {
        "\(dataDirectory) has no standby.signal: PostgreSQL started on it would end recovery and run as a primary, so the standby was not started. "
            + "If a base backup (container init or resync) was interrupted, run `pgarchive container resync`; "
            + "if the file was only removed by mistake and the standby never ran without it, recreate it (touch \(dataDirectory)/standby.signal) and start again"
    }
}

extension Container {
    /// `snapshot create` on a standby that is not in recovery (promoted, or started as a
    /// primary) would store a diverged cluster as if it were the upstream's: refuse it.
    /// `running`: ask the server; else read its pg_control's cluster state.
    func requireStandbyInRecovery(connection: Connection?, control: ControlData?) throws {
        var why: String?
        if let connection, try !connection.isInRecovery() {
            why = "pg_is_in_recovery() is false"
        } else if let control, [.inProduction, .shutDown, .shuttingDown].contains(control.clusterState) {
            why = "its pg_control says \"\(control.clusterState)\", not \"in archive recovery\" or \"shut down in recovery\""
        }
        guard let why else { return }
        throw PGArchiveError("the standby in \(layout.standby) is not in recovery (\(why)): it has been promoted or started as a primary and no longer follows the upstream, so no snapshot was taken. Rebuild it from the upstream with `pgarchive container resync` (snapshots and WAL are kept)")
    }
}
