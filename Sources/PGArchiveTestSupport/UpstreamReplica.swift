import Foundation
import Postgres

extension UpstreamCluster {
    /// A streaming hot standby of `primary` (pg_basebackup -R into a temp directory), on its
    /// own port and socket: for testing a container whose upstream is itself a standby.
    public static func replica(of primary: UpstreamCluster, name: String) async throws -> UpstreamCluster {
        try await UpstreamCluster(name: name, replicaOf: primary)
    }
}
