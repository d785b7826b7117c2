import Foundation
import Logging
import Postgres

extension Container {
    public var dumpStore: DumpStore { DumpStore(layout: layout) }

    /// Parallel pg_dump/pg_restore jobs when not given on the command line.

    /// The run `dump extract`/`dump restore` use, and its directory.
    public func dumpRun(_ database: String, at time: Date?) throws(PGArchiveError) -> (DumpRun, String) {
        let store = dumpStore
        let run = try DumpStore.select(try store.requireRuns(database), at: time, database: database)
        return (run, store.runDirectory(database, run.name))
    }

    /// `dump expire`: keeps the newest `dump_keep` runs of each database; `dryRun` only plans.
    /// A run is renamed to `.expired-…` before its files go, so it is never half there.
    public func expireDumps(dryRun: Bool) throws -> [DumpRun] {
        let store = dumpStore
        var plan: [DumpRun] = []
        for database in store.databases() {
            let limit = config.dumpExpireAfter.map { Date().addingTimeInterval(-Double($0.seconds)) }
            plan += DumpStore.expirePlan(store.runs(database), keep: config.dumpKeep, olderThan: limit)
        }
        if dryRun { return plan }
        for run in plan {
            let path = store.runDirectory(run.database, run.name)
            let doomed = store.databaseDirectory(run.database) + "/.expired-\(run.name)-\(getpid())"
            guard rename(path, doomed) == 0 else {
                throw PGArchiveError("cannot rename \(path) to \(doomed): \(String(cString: strerror(errno)))")
            }
            do { try FileManager.default.removeItem(atPath: doomed) } catch {
                throw PGArchiveError("cannot remove \(doomed): \(error.localizedDescription)")
            }
            logger.info("expired dump \(run.name) of database '\(run.database)'")
        }
        return plan
    }

    /// `cron dump`: create, then expire.
    public func cronDump(jobs: Int?) async throws -> String {
        let runs = try await createDumps(databases: [], fromUpstream: false, jobs: jobs)
        let expired = try expireDumps(dryRun: false)
        let shared = runs.reduce(0) { $0 + $1.sharedFiles }
        let files = runs.reduce(0) { $0 + $1.files }
        return "dumped \(runs.count) database(s) as run \(runs.first?.name ?? "-") from \(runs.first?.source ?? "-") (\(shared) of \(files) files unchanged and shared); expired \(expired.count) run(s)"
    }
}
