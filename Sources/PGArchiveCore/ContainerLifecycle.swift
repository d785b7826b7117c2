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
        try await stopClones()
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
    public func resync(fastCheckpoint: Bool = true) async throws {
        let binaries = try await binaries()
        try await standby.stop(binaries: binaries, logger: logger)
        receiver.stop(logger: logger)
        let connection: Connection
        do { connection = try upstreamConnection() } catch {
            throw PGArchiveError("cannot connect to the upstream: \(error)")
        }
        defer { connection.close() }
        let sysid = try connection.systemIdentifier()
        if !config.systemIdentifier.isEmpty && sysid != config.systemIdentifier {
            throw PGArchiveError("the upstream is a different cluster (system identifier \(sysid), this container archives \(config.systemIdentifier)); create a new container for it")
        }
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
        logger.info("resync complete")
    }

    /// Stops running clones (by the pid in their postmaster.pid).
    func stopClones() async throws {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: layout.clones)) ?? []
        guard !names.isEmpty else { return }
        let binaries = try await binaries()
        for name in names {
            let dir = layout.clone(name)
            if Processes.postmasterState(dataDirectory: dir).isRunning {
                _ = try? await PgCtl(binaries: binaries, action: .stop, dataDirectory: dir, wait: true, timeout: 60, mode: .fast).command.run()
                logger.info("stopped clone \(name)")
            }
        }
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
