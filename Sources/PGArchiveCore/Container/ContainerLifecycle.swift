import Btrfs
import Foundation
import Logging
import Postgres

/// Starting, stopping, retiring, resyncing and purging a container.
extension Container {
    public var receiver: WALReceiver { WALReceiver(container: self) }
    public var standby: Standby { Standby(container: self) }

    /// Starts pg_receivewal, then the standby. Safe to run when either already runs.
    public func start() async throws {
        guard !isRetired else {
            throw PGArchiveError("container \(layout.root) is retired (no slot, no standby); `pgarchive container resync` brings it back")
        }
        // Never the old version's pg_receivewal against an upgraded (or another) upstream.
        let upstream = try? upstreamConnection(connectTimeout: 5)
        defer { upstream?.close() }
        if let change = stopReceiverIfUpstreamChanged(connection: upstream) {
            throw PGArchiveError("pg_receivewal was not started: \(change.message)")
        }
        let binaries = try await binaries()
        try await receiver.start(binaries: binaries, logger: logger)
        try await standby.start(binaries: binaries, logger: logger)
    }

    /// Stops the standby, then pg_receivewal.
    public func stop() async throws {
        let binaries = try await binaries()
        try await standby.stop(binaries: binaries, logger: logger)
        receiver.stop(logger: logger)
    }

    /// Drops the container's slot on the upstream. Without `force` an unreachable upstream
    /// is an error (a forgotten slot makes the upstream keep WAL forever); with it, a warning
    /// that says how to drop the slot by hand.
    func dropSlot(force: Bool) throws {
        do {
            let connection = try upstreamConnection()
            defer { connection.close() }
            if try connection.replicationSlot(named: config.slot) != nil {
                try connection.dropReplicationSlot(config.slot, ifExists: true)
                logger.info("dropped replication slot \(config.slot) on the upstream")
            } else {
                logger.info("replication slot \(config.slot) does not exist on the upstream")
            }
        } catch {
            let advice = "drop it on the upstream by hand: SELECT pg_drop_replication_slot('\(config.slot)');"
            if force {
                logger.warning("could not drop replication slot \(config.slot): \(error); \(advice)")
            } else {
                throw PGArchiveError("could not drop replication slot \(config.slot) on the upstream: \(error). Nothing was deleted. Use --force to go on anyway, then \(advice)")
            }
        }
    }

    /// Stops everything, drops the slot and deletes every subvolume and the directory.
    public func purge(force: Bool) async throws {
        logger.info("purging container \(layout.root)")
        let unstoppable = try await stopClones()
        guard unstoppable.isEmpty else {
            // Deleting a clone under a running server (or the WAL it may still recover from)
            // would pull its files away from it: keep everything and say which.
            throw PGArchiveError("container purge deleted nothing: " + unstoppable.joined(separator: "; ")
                                 + ". Stop \(unstoppable.count == 1 ? "it" : "them") (e.g. `kill -QUIT PID` as the service user), then run `pgarchive container purge` again")
        }
        try await stop()
        try dropSlot(force: force)
        var failures: [String] = []
        for directory in [layout.clones, layout.snapshots] {
            for name in ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted() {
                do { try deleteSubvolumeOrDirectory(directory + "/" + name) } catch { failures.append("\(error)") }
            }
        }
        for subvolume in layout.subvolumes {
            do { try deleteSubvolumeOrDirectory(subvolume) } catch { failures.append("\(error)") }
        }
        guard failures.isEmpty else {
            throw PGArchiveError("purge could not delete everything:\n  " + failures.joined(separator: "\n  "))
        }
        do { try FileManager.default.removeItem(atPath: layout.root) } catch {
            throw PGArchiveError("could not remove \(layout.root): \(error.localizedDescription)")
        }
        logger.info("container \(layout.root) purged")
    }

    /// Stops streaming, drops the slot and deletes the standby; snapshots and WAL stay.
    public func retire(force: Bool) async throws {
        try await stop()
        try dropSlot(force: force)
        if FileManager.default.fileExists(atPath: layout.standby) {
            try deleteSubvolumeOrDirectory(layout.standby)
            logger.info("deleted the standby \(layout.standby)")
        }
        try AtomicFile.write(ISO8601.utc(Date()) + "\n", to: layout.retiredMarker)
        logger.info("container retired: snapshots and \(layout.walArchive) remain for restores; `pgarchive container resync` starts streaming again")
    }

    /// Re-creates the slot and the standby from a new base backup, keeping all history.
    /// Segments from before are moved to `wal_archive/before-resync-<time>/`, where
    /// `wal fetch` still finds them but pg_receivewal does not try to resume from them.
    ///
    /// After a major upgrade of the upstream (UpstreamIdentity.swift) it is what moves the
    /// container onto the new version: `pgBindir` (or the new version's programs found as at
    /// init) must have the upstream's new major version; the new version and system identifier
    /// are recorded, and the snapshots from before keep their own version's programs.
    public func resync(fastCheckpoint: Bool = true, pgBindir: String? = nil) async throws {
        // Refuse an upstream too old for exact restores, another cluster of the same version,
        // or tools of the wrong version, before anything is stopped.
        var newBinaries: PostgresBinaries?
        var upgrade: UpstreamChange?
        if let early = try? upstreamConnection() {
            defer { early.close() }
            if let problem = RecoveryCheck.upstreamVersionProblem(major: early.serverMajorVersion, serverVersion: String(early.serverMajorVersion)) {
                throw PGArchiveError(problem + "; nothing was changed")
            }
            upgrade = try upstreamChange(connection: early)
            if let upgrade, !upgrade.isMajorUpgrade {
                throw PGArchiveError("the upstream is a different cluster (system identifier \(upgrade.upstreamSystemIdentifier), this container archives \(config.systemIdentifier)) of the same major version \(upgrade.upstreamMajorVersion): nothing was changed. Its WAL cannot continue this archive: retire this container (`pgarchive container retire`; its snapshots stay restorable) and create a new one for it")
            }
            if upgrade != nil || pgBindir != nil {
                do {
                    newBinaries = try await PostgresBinaries.locate(majorVersion: early.serverMajorVersion, explicitBindir: pgBindir)
                } catch {
                    throw PGArchiveError("the upstream runs PostgreSQL \(early.serverMajorVersion) and its programs are needed for the new standby: \(error); give them with --pg-bindir DIR. Nothing was changed")
                }
            }
        }
        let oldBinaries = try await binaries()
        try await standby.stop(binaries: oldBinaries, logger: logger)
        receiver.stop(logger: logger)
        let connection: Connection
        do { connection = try upstreamConnection() } catch {
            throw PGArchiveError("cannot connect to the upstream: \(error)")
        }
        defer { connection.close() }
        let sysid = try connection.systemIdentifier()
        if upgrade == nil, !config.systemIdentifier.isEmpty && sysid != config.systemIdentifier {
            throw PGArchiveError("the upstream is a different cluster (system identifier \(sysid), this container archives \(config.systemIdentifier)); create a new container for it")
        }
        if let newBinaries {
            if let upgrade {
                logger.notice("the upstream was upgraded from PostgreSQL \(upgrade.recordedMajorVersion) to \(upgrade.upstreamServerVersion) (system identifier \(upgrade.recordedSystemIdentifier) → \(sysid)); the new standby runs with \(newBinaries.bindir), the snapshots from before keep PostgreSQL \(upgrade.recordedMajorVersion)'s programs")
            }
            config.upstreamVersion = newBinaries.majorVersion
            config.systemIdentifier = sysid
            config.pgBindir = newBinaries.bindir == "/usr/lib/postgresql/\(newBinaries.majorVersion)/bin" && pgBindir == nil ? "" : newBinaries.bindir
            try saveConfig()
        }
        let binaries = newBinaries ?? oldBinaries
        if try connection.replicationSlot(named: config.slot) != nil {
            try connection.dropReplicationSlot(config.slot)
            logger.info("dropped the old replication slot \(config.slot)")
        }
        let facts = try UpstreamChecks.run(connection: connection, slot: config.slot)

        let keep = layout.walArchive + "/before-resync-" + ISO8601.utc(Date())
        let files = try FileManager.default.contentsOfDirectory(atPath: layout.walArchive).filter { WALFileName.parse($0) != nil }
        if !files.isEmpty {
            try FileManager.default.createDirectory(atPath: keep, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
            for file in files { try FileManager.default.moveItem(atPath: layout.walArchive + "/" + file, toPath: keep + "/" + file) }
            logger.info("moved \(files.count) WAL files from before the resync to \(keep)")
        }
        if FileManager.default.fileExists(atPath: layout.standby) { try deleteSubvolumeOrDirectory(layout.standby) }
        try Subvolume.create(layout.standby)
        if config.btrfsCompression != "none" { try Subvolume.setCompression(layout.standby, algorithm: config.btrfsCompression) }
        chmod(layout.standby, 0o700)

        _ = try connection.createPhysicalReplicationSlot(config.slot, reserveWAL: true)
        logger.info("created replication slot \(config.slot)")
        try? FileManager.default.removeItem(atPath: layout.retiredMarker)
        try await receiver.start(binaries: binaries, logger: logger)
        logger.info("taking a new base backup into \(layout.standby) (\(facts.databaseSizeDescription))")
        let tablespaces = try Tablespaces.list(connection: connection)
        var backup = PgBaseBackup(binaries: binaries, pgdata: layout.standby, conninfo: config.effectiveUpstreamReplication,
                                  walMethod: .fetch, checkpoint: fastCheckpoint ? .fast : .spread)
        backup.tablespaceMappings = Tablespaces.mappings(tablespaces, dataDirectory: layout.standby)
        try await backup.command.runChecked()
        try Tablespaces.adopt(dataDirectory: layout.standby, tablespaces: tablespaces)
        TablespaceGate.clearRefusal(layout: layout)
        try standby.prepareBaseBackup(upstreamSettings: facts.hotStandbySettings)
        try await standby.start(binaries: binaries, logger: logger)
        clearUpstreamChange()
        // Every snapshot from before lies before the resync's gap in the WAL: a --latest or
        // --immediate restore (the newest snapshot) would replay up to the gap and stop there.
        // So the new standby is snapshotted at once (its restartpoint is the base backup's
        // checkpoint, as at init).
        let first: SnapshotMetadata
        do {
            let lock = try self.lock(.snapshots, command: "container resync (first snapshot)")
            defer { _ = lock }
            first = try await createSnapshot(force: true)
        } catch {
            throw PGArchiveError("the resync is done (the slot, pg_receivewal and the new standby run), but the snapshot of the new standby failed: \(error). Until `pgarchive snapshot create` succeeds, --latest and --immediate restores start from a snapshot from before the resync and end at its gap in the WAL")
        }
        logger.info("resync complete; first snapshot of the new standby: \(first.name)")
    }

    /// Stops running clones (by the pid in their postmaster.pid). Returns one line for each
    /// clone whose server still runs afterwards, naming it, its pid and what pg_ctl said.
    @discardableResult
    func stopClones() async throws -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: layout.clones)) ?? []
        guard !names.isEmpty else { return [] }
        var unstoppable: [String] = []
        for name in names.sorted() {
            let dir = layout.clone(name)
            if Processes.postmasterState(dataDirectory: dir).isRunning {
                let binaries = try await binaries(forDataDirectory: dir)
                let result = try? await PgCtl(binaries: binaries, action: .stop, dataDirectory: dir, wait: true, timeout: 30, mode: .fast).command.run()
                if case .running(let pid) = Processes.postmasterState(dataDirectory: dir) {
                    let said = (result?.standardError ?? "").split(separator: "\n").last.map(String.init) ?? ""
                    logger.error("could not stop clone \(name) (pid \(pid))\(said.isEmpty ? "" : ": " + said)")
                    unstoppable.append("clone \(name) kept: its server (pid \(pid)) could not be stopped")
                } else {
                    logger.info("stopped clone \(name)")
                }
            }
        }
        return unstoppable
    }

    /// Deletes a subvolume (read-only ones too), or a plain directory left by a half-made step.
    func deleteSubvolumeOrDirectory(_ path: String) throws {
        // A half-made container (an init killed with SIGKILL) may lack some of them.
        guard FileManager.default.fileExists(atPath: path) else { return }
        if (try? Subvolume.isSubvolume(path)) == true {
            try Subvolume.delete(path)
        } else {
            try FileManager.default.removeItem(atPath: path)
        }
    }
}
