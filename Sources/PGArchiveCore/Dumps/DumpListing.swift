import Foundation

/// One complete run as `dump list` shows it: where it lies and what only it uses on btrfs.
public struct DumpListEntry: Encodable {
    public var run: DumpRun
    public var path: String
    /// What only this run uses (`btrfs filesystem du`); nil when that cannot be measured.
    public var exclusiveBytes: UInt64?
}

extension Container {
    /// `dump list`: the complete runs of `database` (an error if it has none), or of every
    /// database, and the incomplete run directories an interrupted create or expire left.
    public func dumpListing(database: String?) async throws -> (entries: [DumpListEntry], leftovers: [String]) {
        let store = dumpStore
        let databases: [String]
        if let database {
            _ = try store.requireRuns(database)
            databases = [database]
        } else {
            databases = store.databases()
        }
        var entries: [DumpListEntry] = []
        for database in databases {
            for run in store.runs(database) {
                let path = store.runDirectory(database, run.name)
                entries.append(DumpListEntry(run: run, path: path, exclusiveBytes: await DumpSpace.exclusive(path)))
            }
        }
        return (entries, store.leftovers())
    }
}
