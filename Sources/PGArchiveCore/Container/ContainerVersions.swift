import Foundation
import Postgres

extension Container {
    /// `container checkversions`: reports the local tools', the upstream's and the
    /// container's PostgreSQL version, one line each through `report` as soon as it is
    /// known, and fails when their major versions differ.
    public func checkVersions(report: (String) -> Void) async throws {
        let binaries = try await binaries()
        let local = try await ToolCommand(executable: binaries.path("postgres"), arguments: ["--version"]).runChecked()
            .standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
        report("local tools:  \(local) (\(binaries.bindir))")
        let connection = try upstreamConnection()
        defer { connection.close() }
        let remote = try connection.query("SELECT version() AS v").singleRow().string("v")
        report("upstream:     \(remote)")
        report("container:    made for PostgreSQL \(config.upstreamVersion)")
        if connection.serverMajorVersion != binaries.majorVersion || connection.serverMajorVersion != config.upstreamVersion {
            let upgraded = connection.serverMajorVersion != config.upstreamVersion
                ? "; the upstream was upgraded: `pgarchive container resync --pg-bindir <PostgreSQL \(connection.serverMajorVersion) bin directory>` (MANUAL: Major upgrades of the upstream)" : ""
            throw PGArchiveError("major versions differ: upstream \(connection.serverMajorVersion), local tools \(binaries.majorVersion), container \(config.upstreamVersion)" + upgraded)
        }
    }
}
