import Btrfs
import Foundation
import Logging
import Postgres

/// `container init`: checks everything that can be checked before touching anything,
/// then builds the container step by step; if a step fails, undoes the earlier ones
/// (including the slot on the upstream) and says so.
public struct ContainerInit {
    public var path: String
    public var upstream: String
    public var upstreamReplication: String?
    public var slot: String?
    public var pgBindir: String?
    public var standbyPort: Int?
    public var btrfsCompression: String = "zstd"
    public var fastCheckpoint = true
    public var logger: Logger

    public init(path: String, upstream: String, logger: Logger) {
        self.path = path
        self.upstream = upstream
        self.logger = logger
    }

    /// Things created so far, undone in reverse order on failure.
    private final class Undo {
        var steps: [(String, () async -> Void)] = []
    }

    public func run() async throws -> Container {
        let layout = ContainerLayout(root: path)
        let fm = FileManager.default

        // 1. Checks that change nothing.
        guard !layout.root.contains("'") && !layout.root.contains("\n") else {
            throw PGArchiveError("container path \(layout.root) must not contain quotes or newlines")
        }
        let existed = fm.fileExists(atPath: layout.root)
        if existed {
            let contents = (try? fm.contentsOfDirectory(atPath: layout.root)) ?? ["?"]
            guard contents.isEmpty else {
                throw PGArchiveError("\(layout.root) exists and is not empty; container init needs a new or empty directory")
            }
        }
        let parent = (layout.root as NSString).deletingLastPathComponent
        guard fm.fileExists(atPath: existed ? layout.root : parent) else {
            throw PGArchiveError("parent directory \(parent) does not exist")
        }
        guard Subvolume.isOnBtrfs(existed ? layout.root : parent) else {
            throw PGArchiveError("\(existed ? layout.root : parent) is not on a btrfs file system; a container needs btrfs for its snapshots (mount one, e.g. with -o user_subvol_rm_allowed,compress=zstd:1)")
        }

        var config = ContainerConfig()
        config.upstream = try normalizedConninfo(upstream, what: "--upstream")
        if let upstreamReplication {
            config.upstreamReplication = try normalizedConninfo(upstreamReplication, what: "--upstream-replication")
        }
        config.slot = slot ?? ReplicationSlotName.defaultName(containerDirectory: layout.root)
        guard ReplicationSlotName.isValid(config.slot) else {
            throw PGArchiveError("invalid slot name '\(config.slot)': use lower-case letters, digits and underscores (at most 63)")
        }
        config.btrfsCompression = btrfsCompression

        logger.info("checking the upstream (\(Conninfo.redactedOrRaw(config.upstream)))")
        let connection: Connection
        do { connection = try Connection(conninfo: config.upstream, connectTimeout: 10) } catch {
            throw PGArchiveError("cannot connect to the upstream: \(error)")
        }
        defer { connection.close() }
        let facts = try UpstreamChecks.run(connection: connection, slot: config.slot)
        config.upstreamVersion = facts.majorVersion
        config.systemIdentifier = facts.systemIdentifier
        config.standbyUser = facts.bootstrapSuperuser
        if let advice = SlotRetention.unlimitedAdvice(upstream: connection) { logger.warning("\(advice)") }

        let binaries = try await PostgresBinaries.locate(majorVersion: facts.majorVersion, explicitBindir: pgBindir)
        // Tools found outside Debian's layout (through pg_config or PATH) are recorded, so cron
        // and every later command use the same ones whatever their PATH.
        config.pgBindir = pgBindir ?? (binaries.bindir == "/usr/lib/postgresql/\(facts.majorVersion)/bin" ? "" : binaries.bindir)
        logger.info("upstream runs PostgreSQL \(facts.serverVersion)\(facts.inRecovery ? " (a hot standby)" : ""); using the tools in \(binaries.bindir)")
        config.standbyPort = try standbyPort ?? PortRegistry.reserve(for: layout.root, startingAt: 5433)

        // 2. Build, remembering how to undo each step. A SIGINT/SIGTERM is honoured at the
        // next step boundary, through the same rollback as any failure.
        let undo = Undo()
        Interruption.catchSignals()
        defer { Interruption.restoreDefaults() }
        do {
            if !existed {
                guard mkdir(layout.root, 0o700) == 0 else {
                    throw PGArchiveError("cannot create \(layout.root): \(String(cString: strerror(errno)))")
                }
                undo.steps.append(("remove \(layout.root)", { try? fm.removeItem(atPath: layout.root) }))
            } else {
                chmod(layout.root, 0o700)
                undo.steps.append(("empty \(layout.root)", {
                    for item in (try? fm.contentsOfDirectory(atPath: layout.root)) ?? [] { try? fm.removeItem(atPath: layout.root + "/" + item) }
                }))
            }
            for subvolume in layout.subvolumes {
                try Subvolume.create(subvolume)
                undo.steps.append(("delete subvolume \(subvolume)", { try? Subvolume.delete(subvolume) }))
                if btrfsCompression != "none" { try Subvolume.setCompression(subvolume, algorithm: btrfsCompression) }
                chmod(subvolume, 0o700)
            }
            for directory in layout.plainDirectories {
                guard mkdir(directory, 0o700) == 0 else {
                    throw PGArchiveError("cannot create \(directory): \(String(cString: strerror(errno)))")
                }
            }
            try Interruption.check()
            let container = Container(layout: layout, config: config, logger: logger)
            try container.saveConfig()
            logger.info("created \(layout.root) (subvolumes wal_archive, standby, dumps; btrfs compression \(btrfsCompression))")

            try Interruption.check()
            _ = try connection.createPhysicalReplicationSlot(config.slot, reserveWAL: true)
            logger.info("created replication slot \(config.slot) on the upstream")
            undo.steps.append(("drop replication slot \(config.slot) on the upstream", {
                do {
                    let c = try Connection(conninfo: config.upstream, connectTimeout: 10)
                    defer { c.close() }
                    try c.dropReplicationSlot(config.slot, ifExists: true)
                } catch {
                    logger.error("could not drop replication slot \(config.slot): \(error); drop it on the upstream by hand: SELECT pg_drop_replication_slot('\(config.slot)')")
                }
            }))

            try Interruption.check()
            let receiver = WALReceiver(container: container)
            try await receiver.start(binaries: binaries, logger: logger)
            undo.steps.append(("stop pg_receivewal", { receiver.stop(logger: logger) }))

            try Interruption.check()
            // --wal-method=fetch: the backup carries the WAL it needs to become consistent.
            // With "none" the upstream would wait until that WAL is *archived* (for ever if
            // its archive_command fails), and from an upstream that is itself a standby the
            // standby here could not start before the primary switched segments; the slot
            // created above already keeps that WAL on the upstream until it is fetched.
            logger.info("taking a base backup of the upstream into \(layout.standby) (\(facts.databaseSizeDescription)); this is the only full copy pgarchive ever takes")
            // Every tablespace goes inside standby/ (Tablespaces.swift says why).
            let tablespaces = try Tablespaces.list(connection: connection)
            var backup = PgBaseBackup(binaries: binaries, pgdata: layout.standby,
                                      conninfo: config.effectiveUpstreamReplication, walMethod: .fetch,
                                      checkpoint: fastCheckpoint ? .fast : .spread)
            backup.tablespaceMappings = Tablespaces.mappings(tablespaces, dataDirectory: layout.standby)
            try await backup.command.runChecked()
            try Tablespaces.adopt(dataDirectory: layout.standby, tablespaces: tablespaces)
            let where_ = tablespaces.isEmpty ? "" : "; tablespaces \(tablespaces.map(\.name).joined(separator: ", ")) are in \(layout.standby)/\(Tablespaces.directoryName)"
            logger.info("base backup complete\(where_)")

            try Interruption.check()
            let standby = Standby(container: container)
            try standby.prepareBaseBackup(upstreamSettings: facts.hotStandbySettings)
            undo.steps.append(("stop the standby", { try? await standby.stop(binaries: binaries, logger: logger, mode: .immediate) }))
            try await standby.start(binaries: binaries, logger: logger)
            try Interruption.check()
            // The first snapshot: its restartpoint is the base backup's fresh checkpoint.
            let first = try await container.createSnapshot(force: true)
            try Interruption.check()
            logger.info("container \(layout.root) is ready: pg_receivewal streams, the standby replays, first snapshot \(first.name)")
            return container
        } catch {
            logger.error("container init failed: \(error)")
            for (what, step) in undo.steps.reversed() {
                logger.info("cleaning up: \(what)")
                await step()
            }
            throw PGArchiveError("container init failed and was rolled back: \(error)")
        }
    }

    /// Parses a conninfo, refuses a password in it, and records PGPASSFILE as `passfile`
    /// so daemons started later (by cron) find the same password file.
    func normalizedConninfo(_ text: String, what: String) throws -> String {
        var conninfo: Conninfo
        do { conninfo = try Conninfo(text) } catch {
            throw PGArchiveError("invalid \(what) conninfo: \(error)")
        }
        do { try conninfo.requireNoPassword() } catch {
            throw PGArchiveError("\(what): \(error)")
        }
        if conninfo.value(for: "passfile") == nil,
           let passfile = ProcessInfo.processInfo.environment["PGPASSFILE"], !passfile.isEmpty {
            let absolute = passfile.hasPrefix("/") ? passfile : fm_cwd() + "/" + passfile
            conninfo = conninfo.setting("passfile", absolute)
        }
        return conninfo.rendered
    }

    private func fm_cwd() -> String { FileManager.default.currentDirectoryPath }
}

extension Conninfo {
    /// For log lines: the conninfo with any password masked, or the text as given if it
    /// does not parse.
    public static func redactedOrRaw(_ text: String) -> String {
        (try? Conninfo(text))?.redacted ?? text
    }
}

/// What `container init` must know about the upstream, and the checks that refuse an
/// upstream that cannot be archived (each error names the setting to change).
public struct UpstreamChecks: Sendable {
    public var majorVersion: Int
    public var serverVersion: String
    public var systemIdentifier: String
    public var inRecovery: Bool
    public var bootstrapSuperuser: String
    public var hotStandbySettings: [String: String]
    public var databaseSizeDescription: String

    public static func run(connection: Connection, slot: String) throws -> UpstreamChecks {
        let settings = try connection.query(
            "SELECT name, setting FROM pg_settings WHERE name = ANY($1::text[])",
            ["{wal_level,max_wal_senders,max_replication_slots,server_version," + ServerConfiguration.hotStandbyParameters.joined(separator: ",") + "}"])
        var s: [String: String] = [:]
        for row in settings.rows { if let k = row[0], let v = row[1] { s[k] = v } }
        let major = connection.serverMajorVersion
        if let problem = RecoveryCheck.upstreamVersionProblem(major: major, serverVersion: s["server_version"] ?? String(major)) {
            throw PGArchiveError(problem)
        }
        guard let walLevel = s["wal_level"], walLevel == "replica" || walLevel == "logical" else {
            throw PGArchiveError("the upstream has wal_level = \(s["wal_level"] ?? "?"); set wal_level = replica in its postgresql.conf and restart it")
        }
        let role = try connection.query("SELECT rolsuper OR rolreplication AS ok, current_user AS name FROM pg_roles WHERE rolname = current_user").singleRow()
        guard try role.bool("ok") else {
            throw PGArchiveError("role \(try role.string("name")) may not stream WAL; ALTER ROLE \(try role.string("name")) REPLICATION on the upstream (and allow it in pg_hba.conf)")
        }
        let senders = try connection.query("SELECT count(*) AS n FROM pg_stat_replication").singleRow().int("n")
        let maxSenders = Int(s["max_wal_senders"] ?? "0") ?? 0
        // pg_receivewal and pg_basebackup each need a WAL sender during init.
        guard maxSenders - senders >= 2 else {
            throw PGArchiveError("the upstream has \(senders) of max_wal_senders = \(maxSenders) in use; pgarchive needs 2 free during init (1 afterwards): raise max_wal_senders and restart it")
        }
        let slots = try connection.query("SELECT count(*) AS n FROM pg_replication_slots").singleRow().int("n")
        let maxSlots = Int(s["max_replication_slots"] ?? "0") ?? 0
        guard slots < maxSlots else {
            throw PGArchiveError("the upstream has all max_replication_slots = \(maxSlots) in use; raise max_replication_slots and restart it")
        }
        if try connection.replicationSlot(named: slot) != nil {
            throw PGArchiveError("replication slot '\(slot)' already exists on the upstream; another container may use it. Choose another with --slot, or drop it on the upstream: SELECT pg_drop_replication_slot('\(slot)')")
        }
        let sysid = try connection.systemIdentifier()
        let superuser = try connection.query("SELECT rolname FROM pg_roles WHERE oid = 10").singleRow().string("rolname")
        let size = try connection.query("SELECT pg_size_pretty(sum(pg_database_size(oid))) AS s FROM pg_database").singleRow().string("s")
        var hot: [String: String] = [:]
        for key in ServerConfiguration.hotStandbyParameters { if let v = s[key] { hot[key] = v } }
        return UpstreamChecks(majorVersion: major, serverVersion: s["server_version"] ?? String(major),
                              systemIdentifier: sysid, inRecovery: try connection.isInRecovery(),
                              bootstrapSuperuser: superuser, hotStandbySettings: hot,
                              databaseSizeDescription: size)
    }
}

/// Picks a TCP port that nothing listens on (the standby itself listens on no TCP address,
/// but a distinct port keeps its socket name and shared memory key apart from others').
public enum PortFinder {
    public static func free(startingAt start: Int) throws(PGArchiveError) -> Int {
        for port in start..<min(start + 2000, 65535) where isFree(port) { return port }
        throw PGArchiveError("no free port found from \(start) on")
    }

    public static func isFree(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }
}
