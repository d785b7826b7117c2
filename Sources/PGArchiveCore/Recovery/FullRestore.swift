import Foundation
import Logging
import Postgres

extension Container {
    /// `restore --to DIR`: a complete data directory on any file system, for disaster
    /// recovery on another host. It holds a copy of the right snapshot, every WAL file from
    /// that snapshot's REDO point on (in `pgarchive_wal/`, the newest partial segment under
    /// its final name), the upstream's own configuration files, and recovery settings in
    /// postgresql.auto.conf that read WAL only from `pgarchive_wal/`: no pgarchive is needed
    /// where it is started. Returns the command that starts it.
    public func restore(to directory: String, target: RecoveryTarget, snapshot explicit: String?,
                        port: Int?, socketDirectory: String?,
                        tablespaceMap: TablespaceRestoreMap = .none) async throws -> String {
        let fm = FileManager.default
        let dir = ContainerLayout(root: directory).root
        if fm.fileExists(atPath: dir) {
            let contents = (try? fm.contentsOfDirectory(atPath: dir)) ?? ["?"]
            guard contents.isEmpty else { throw PGArchiveError("\(dir) is not empty; restore --to needs a new or empty directory") }
        } else {
            let parent = (dir as NSString).deletingLastPathComponent
            guard fm.fileExists(atPath: parent) else { throw PGArchiveError("parent directory \(parent) does not exist") }
        }
        let plan = try recoveryPlan(for: target, snapshot: explicit, refusingFutureTimes: false)
        let base = plan.snapshot
        // Refuse to write a restore whose WAL has a gap (RecoveryPreflight.swift); nothing is written yet.
        _ = try await recoveryPreflight(from: base, target: target)
        let mappedTablespaces = try tablespaceMap.validate(snapshotDirectory: layout.snapshot(base.name), snapshotName: base.name)
        let created = !fm.fileExists(atPath: dir)
        if created { guard mkdir(dir, 0o700) == 0 else { throw PGArchiveError("cannot create \(dir): \(String(cString: strerror(errno)))") } }
        chmod(dir, 0o700)
        do {
            logger.info("copying snapshot \(base.name) to \(dir)")
            try await ToolCommand(executable: "cp", arguments: ["-a", "--reflink=auto", "--", layout.snapshot(base.name) + "/.", dir]).runChecked()
            try await TablespaceRestoreMap.apply(mappedTablespaces, snapshotDirectory: layout.snapshot(base.name), dataDirectory: dir)
            let walCount = try copyWAL(from: base, to: dir + "/pgarchive_wal")
            try await gateRestoredWAL(dir + "/pgarchive_wal", dataDirectory: dir, snapshot: base.name, target: target)
            try writeRestoredConfiguration(dir, plan: plan, port: port, socketDirectory: socketDirectory)
            logger.info("restored snapshot \(base.name) and \(walCount) WAL files to \(dir); recovery goes to \(target)")
        } catch {
            if created { try? fm.removeItem(atPath: dir) } else {
                for item in (try? fm.contentsOfDirectory(atPath: dir)) ?? [] { try? fm.removeItem(atPath: dir + "/" + item) }
            }
            throw error
        }
        let binaries = try await binaries(forDataDirectory: dir) // its own major version (UpstreamIdentity.swift)
        return PgCtl(binaries: binaries, action: .start, dataDirectory: dir, logFile: dir + ".log", wait: true).command.description
    }

    /// The restored server replays with `cp` from pgarchive_wal/, without wal fetch's
    /// tablespace gate, so the same rule is applied here, once, to the copied WAL: a CREATE
    /// TABLESPACE after the snapshot would create the upstream's LOCATION on this host, where
    /// no --tablespace-map can place it. `--latest` is refused (a recovery cut short there
    /// would look complete); for any other target the segment is cut just before the record,
    /// so a target after it fails at start with PostgreSQL's "recovery ended before configured
    /// recovery target was reached" instead of writing outside.
    func gateRestoredWAL(_ walDirectory: String, dataDirectory: String, snapshot: String, target: RecoveryTarget) async throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: walDirectory).sorted()
            .filter { TablespaceGate.needsScan(layout: layout, segment: $0) }
        guard !names.isEmpty else { return }
        let gate = TablespaceGate(layout: layout, binaries: try await binaries(forDataDirectory: dataDirectory))
        let real = Tablespaces.realPath(dataDirectory) ?? dataDirectory
        for name in names {
            let path = walDirectory + "/" + name
            // The copy of a .partial goes by its final name: never cache what was scanned of it.
            guard let creation = try await gate.blocking(segment: name, served: path, cacheable: false, dataDirectory: real)
                .min(by: { $0.lsn < $1.lsn }) else { continue }
            let what = "WAL segment \(name) holds CREATE TABLESPACE \(creation.oid) LOCATION '\(creation.location)' at \(creation.lsn), after snapshot \(snapshot); replaying it would create that directory on this host, outside \(dataDirectory), where --tablespace-map cannot place it"
            if target == .latest {
                throw PGArchiveError("\(what). Restore to a target before \(creation.lsn), or from a snapshot taken after `pgarchive container resync` adopted the tablespace")
            }
            try TablespaceGate.cut(path, segment: name, before: creation.lsn)
            logger.warning("\(what): the copied WAL ends just before it, so a target after \(creation.lsn) cannot be reached from this snapshot (use one taken after `pgarchive container resync`)")
            return
        }
    }

    /// Copies history files and every segment from the snapshot's REDO segment on; a partial
    /// segment without a complete twin is copied under its final name. Segments kept in
    /// `before-resync-*` count too (served by the same lookup as `wal fetch`), so a snapshot
    /// from before a resync restores.
    func copyWAL(from base: SnapshotMetadata, to walDirectory: String) throws -> Int {
        guard mkdir(walDirectory, 0o700) == 0 else { throw PGArchiveError("cannot create \(walDirectory): \(String(cString: strerror(errno)))") }
        let archive = WALArchive(directory: layout.walArchive)
        let first = base.redoLSN.segmentNumber(segmentSize: base.walSegmentSize)
        var names = Set<String>()
        for entry in try archive.entries(includeRetired: true) {
            if entry.name.isHistory { names.insert(entry.name.baseName); continue }
            guard let n = entry.name.segmentNumber(segmentSize: base.walSegmentSize), n >= first else { continue }
            names.insert(entry.name.baseName)
        }
        var copied = 0
        for name in names.sorted() {
            // Only the snapshot's own database system's segments (after a major upgrade of the upstream the new cluster's follow: UpstreamIdentity.swift).
            do { _ = try archive.fetch(name, to: walDirectory + "/" + name, partialOK: true, systemIdentifier: UInt64(base.systemIdentifier)); copied += 1 } catch .notFound { continue } catch {
                throw PGArchiveError("cannot copy WAL file \(name): \(error)")
            }
        }
        return copied
    }

    /// Puts the upstream's configuration files back (pg_basebackup copied them and the standby
    /// kept them as *.upstream) and adds the recovery settings (`RecoverySettings.restored`)
    /// to postgresql.auto.conf.
    func writeRestoredConfiguration(_ dir: String, plan: RecoveryPlan, port: Int?, socketDirectory: String?) throws {
        let fm = FileManager.default
        for file in ["postmaster.pid", "postmaster.opts", "standby.signal", "pgarchive.upstream.conf", CloneStore.metadataFile] {
            try? fm.removeItem(atPath: dir + "/" + file)
        }
        for file in ["postgresql.conf", "pg_hba.conf", "pg_ident.conf", "postgresql.auto.conf"] {
            let saved = dir + "/" + file + ".upstream"
            guard fm.fileExists(atPath: saved) else { continue }
            try? fm.removeItem(atPath: dir + "/" + file)
            try fm.moveItem(atPath: saved, toPath: dir + "/" + file)
        }
        let existing = try? String(contentsOfFile: dir + "/postgresql.auto.conf", encoding: .utf8)
        let auto = RecoverySettings.restoredAutoConf(existing: existing, plan: plan, port: port, socketDirectory: socketDirectory)
        try AtomicFile.write(auto, to: dir + "/postgresql.auto.conf")
        try AtomicFile.write("", to: dir + "/recovery.signal")
    }
}
