import Foundation

/// The command table: every pgarchive command and the container lock it takes, declared
/// once here (as pgBackRest's command table declares each command's lock type). The
/// command line only names its operation; `run` opens the container, takes the declared
/// lock, does the work and releases the lock, so no handler takes a lock of its own.
///
/// The raw value is the command as typed after `pgarchive`; a unit test checks that the
/// command tree and this table name the same commands.
public enum ContainerOperation: String, CaseIterable, Sendable {
    case containerInit = "container init"
    case containerStart = "container start"
    case containerStop = "container stop"
    case containerStatus = "container status"
    case containerPurge = "container purge"
    case containerRetire = "container retire"
    case containerResync = "container resync"
    case containerCheckVersions = "container checkversions"
    case containerUpstream = "container upstream"
    case containerInitCron = "container initcron"
    case containerDashboard = "container dashboard"
    case containerMonitor = "container monitor"

    case walStart = "wal start"
    case walStop = "wal stop"
    case walStatus = "wal status"
    case walList = "wal list"
    case walDu = "wal du"
    case walLog = "wal log"
    case walFetch = "wal fetch"
    case walCompress = "wal compress"

    case standbyStart = "standby start"
    case standbyStop = "standby stop"
    case standbyStatus = "standby status"
    case standbyReload = "standby reload"
    case standbyRestart = "standby restart"
    case standbyLog = "standby log"

    case snapshotCreate = "snapshot create"
    case snapshotList = "snapshot list"
    case snapshotDelete = "snapshot delete"
    case snapshotExpire = "snapshot expire"
    case snapshotThin = "snapshot thin"

    case cloneCreate = "clone create"
    case cloneStart = "clone start"
    case cloneStop = "clone stop"
    case cloneRestart = "clone restart"
    case cloneStatus = "clone status"
    case cloneList = "clone list"
    case cloneLog = "clone log"
    case clonePsql = "clone psql"
    case cloneDuplicate = "clone duplicate"
    case cloneDelete = "clone delete"

    case restorePointCreate = "restorepoint create"
    case restorePointList = "restorepoint list"

    case restore = "restore"
    case status = "status"
    case check = "check"
    case verify = "verify"

    case dumpCreate = "dump create"
    case dumpList = "dump list"
    case dumpExtract = "dump extract"
    case dumpRestore = "dump restore"
    case dumpExpire = "dump expire"

    case cronExpireAndCreateSnapshot = "cron expire-and-create-snapshot"
    case cronCompressWAL = "cron compress-wal"
    case cronWatchdog = "cron watchdog"
    case cronMaintenance = "cron maintenance"
    case cronDump = "cron dump"
    case cronVerify = "cron verify"

    case metrics = "metrics"
    case bashCompletion = "bash-completion"

    /// The lock the command holds while it works; nil for commands that only read, that
    /// are safe beside everything (`wal fetch`, `wal compress`), or that have no container
    /// yet (`container init`). Work inside a command that needs another lock for a moment
    /// (the temporary clone of `dump create`, `verify --restore`, `container resync`'s first
    /// snapshot) takes it in PGArchiveCore where it does that work.
    public var lock: ContainerLock.Kind? {
        switch self {
        // What runs (the daemons) and the container itself; the watchdog would otherwise
        // restart a standby being stopped.
        case .containerStart, .containerStop, .containerPurge, .containerRetire, .containerResync,
             .walStart, .walStop, .standbyStart, .standbyStop, .standbyRestart,
             .cronWatchdog, .cronMaintenance:
            return .container
        // Snapshots and clones: a clone is not deleted or re-created under a start, a
        // snapshot not expired under a clone made from it.
        case .snapshotCreate, .snapshotDelete, .snapshotExpire, .snapshotThin,
             .cloneCreate, .cloneStart, .cloneStop, .cloneRestart, .cloneDuplicate, .cloneDelete,
             .restore, .cronExpireAndCreateSnapshot:
            return .snapshots
        case .dumpCreate, .dumpExpire, .cronDump:
            return .dumps
        case .verify, .cronVerify:
            return .verify
        // Two creates at once would each read restore_points.json, then the second write
        // would drop the first one's point (and a name could be made twice).
        case .restorePointCreate:
            return .restorePoints
        case .containerInit, .containerStatus, .containerCheckVersions, .containerUpstream,
             .containerInitCron, .containerDashboard, .containerMonitor,
             .walStatus, .walList, .walDu, .walLog, .walFetch, .walCompress,
             .standbyStatus, .standbyReload, .standbyLog, .snapshotList,
             .cloneStatus, .cloneList, .cloneLog, .clonePsql, .restorePointList,
             .status, .check, .dumpList, .dumpExtract, .dumpRestore, .cronCompressWAL,
             .metrics, .bashCompletion:
            return nil
        }
    }

    /// The job name of a cron operation (`watchdog` for `cron watchdog`), which names its
    /// log file and its record in run/.
    public var cronJob: String? {
        rawValue.hasPrefix("cron ") ? String(rawValue.dropFirst("cron ".count)) : nil
    }

    /// What the lock file records as the holder's command: the operation, with `detail`
    /// (e.g. the clone's name) after it, so a waiter can say what it waits for.
    public func lockCommand(detail: String? = nil) -> String {
        detail.map { "\(rawValue) \($0)" } ?? rawValue
    }
}

extension ContainerOperation {
    /// Opens the container at `path`, runs `beforeLock` (checks that must not wait for the
    /// lock, such as a question to the operator), takes the declared lock (`wait`: block
    /// until it is free; otherwise a held lock fails with exit code 75), runs `work` and
    /// releases the lock.
    @discardableResult
    public func run<T>(container path: String, detail: String? = nil, wait: Bool = true,
                       beforeLock: (Container) throws -> Void = { _ in },
                       _ work: (Container) async throws -> T) async throws -> T {
        let container = try Container.open(path: path)
        try beforeLock(container)
        return try await run(on: container, detail: detail, wait: wait, work)
    }

    /// Takes the declared lock on an opened container, runs `work` and releases the lock.
    @discardableResult
    public func run<T>(on container: Container, detail: String? = nil, wait: Bool = true,
                       _ work: (Container) async throws -> T) async throws -> T {
        let lock = try lock.map { kind throws(PGArchiveError) in
            try container.lock(kind, command: lockCommand(detail: detail), wait: wait)
        }
        defer { _ = lock }
        return try await work(container)
    }

    /// Runs a cron operation: opens the container, then, recorded as the job's run (log
    /// file, last result; a held lock is recorded as busy), takes the declared lock and
    /// runs `work`, whose result is the run's message.
    public func runCron(container path: String, verbose: Bool, wait: Bool,
                        _ work: (Container) async throws -> String) async throws {
        guard let job = cronJob else { preconditionFailure("\(rawValue) is not a cron job") }
        let container = try Container.open(path: path)
        try await container.runCronJob(job, verbose: verbose) { container in
            try await run(on: container, wait: wait, work)
        }
    }
}
