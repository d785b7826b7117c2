import Foundation

extension Container {
    /// Refuses to start the receiver or the standby of a retired container (no slot, no
    /// standby left to run).
    public func requireNotRetired() throws {
        guard !isRetired else { throw PGArchiveError("container is retired; `pgarchive container resync` first") }
    }
}
