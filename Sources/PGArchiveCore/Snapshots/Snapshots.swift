import Btrfs
import Foundation
import Logging
import Postgres

/// What a restore needs to know about a snapshot, written beside it as `NAME.json`.
/// Read from the snapshot's own pg_control right after it was taken, so it describes
/// exactly the files in the snapshot.
public struct SnapshotMetadata: Codable, Sendable, Equatable {
    public var name: String
    /// Wall-clock time the btrfs snapshot was taken.
    public var takenAt: Date
    /// The restartpoint the snapshot starts recovery from.
    public var redoLSN: LSN
    public var redoWALFile: String
    public var timeline: UInt32
    public var checkpointTime: Date
    /// Recovery from the snapshot is consistent only past this point (nil: at the REDO point).
    public var minimumRecoveryPoint: LSN?
    /// The standby's replay position right after the snapshot: everything in the snapshot
    /// lies at or before it, so any target from here on is reachable from this snapshot.
    public var replayedLSN: LSN?
    /// The earliest `--time` target a clone of this snapshot can reach: at or after the commit
    /// time of every transaction before the consistent point. The last commit the standby had
    /// replayed right after the snapshot; when that is unknown, the time the snapshot's own
    /// pg_control was last written (it records the minimum recovery point). See
    /// `init(control:takenAt:standby:pgarchiveVersion:)`.
    public var consistentFrom: Date
    /// The restartpoint's next transaction id (epoch:xid); an `--xid` target needs a snapshot
    /// from before that transaction was assigned.
    public var nextXID: String?
    public var systemIdentifier: String
    public var walSegmentSize: UInt64
    public var pgarchiveVersion: String
    /// `pg_current_snapshot()` on the standby right after the snapshot (`xmin:xmax:xip,…`):
    /// which transactions were complete at `replayedLSN`, for `--xid` targets (nil when the
    /// standby was not running, or from an older pgarchive).
    public var xidSnapshot: String? = nil
    /// `pg_last_xact_replay_timestamp()` on the standby right after the snapshot, as read
    /// (nil when unknown): a clone that replays no commit after the snapshot shows the data
    /// as of then.
    public var lastReplayedCommit: Date? = nil
    /// The PostgreSQL major version of the snapshot's data directory and the programs that
    /// took it (nil from an older pgarchive): after a major upgrade of the upstream, clones
    /// and restores of this snapshot run with these, not the container's new ones
    /// (`Container.binaries(forDataDirectory:)`).
    public var pgMajorVersion: Int? = nil
    public var pgBindir: String? = nil

    /// The LSN from which on any target is reachable from this snapshot.
    public var consistentLSN: LSN { replayedLSN ?? minimumRecoveryPoint ?? redoLSN }

    /// `nextXID` as a 64-bit full transaction id (epoch << 32 | xid).
    public var nextFullXID: UInt64? {
        guard let nextXID else { return nil }
        let parts = nextXID.split(separator: ":")
        guard parts.count == 2, let epoch = UInt64(parts[0]), let xid = UInt64(parts[1]) else { return nil }
        return epoch << 32 | xid
    }

    /// The first segment a restore from this snapshot reads.
    public var redoSegment: WALFileName {
        WALFileName(timeline: timeline, segmentNumber: redoLSN.segmentNumber(segmentSize: walSegmentSize), segmentSize: walSegmentSize)
    }
}

/// The snapshots of a container: `snapshots/NAME/` (read-only subvolumes) with
/// `snapshots/NAME.json`. A snapshot is first made as `snapshots/.creating-PID`, described,
/// then renamed, so a crash never leaves a half-made snapshot under a real name.
public struct SnapshotStore: Sendable {
    public let layout: ContainerLayout

    public init(layout: ContainerLayout) { self.layout = layout }

    func metadataPath(_ name: String) -> String { layout.snapshots + "/" + name + ".json" }

    /// Complete snapshots, oldest first.
    public func list() throws(PGArchiveError) -> [SnapshotMetadata] {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: layout.snapshots) } catch {
            throw PGArchiveError("cannot list \(layout.snapshots): \(error.localizedDescription)")
        }
        var result: [SnapshotMetadata] = []
        for name in names where !name.hasPrefix(".") && !name.hasSuffix(".json") {
            guard let metadata = try? read(name) else { continue }
            result.append(metadata)
        }
        return result.sorted { $0.checkpointTime < $1.checkpointTime }
    }

    /// What interrupted operations left: `.creating-PID` (a create), `.deleting-NAME.json` (a
    /// delete), metadata without its snapshot (a create killed before the rename) and, from
    /// elsewhere, snapshot directories without metadata. Names as they are in `snapshots/`.
    public func incomplete() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: layout.snapshots)) ?? []
        let fm = FileManager.default
        return names.filter { name in
            if name.hasPrefix(".creating-") || name.hasPrefix(Self.deletingPrefix) { return true }
            if name.hasPrefix(".") { return false }
            if name.hasSuffix(".json") { return !fm.fileExists(atPath: layout.snapshot(String(name.dropLast(5)))) }
            return !fm.fileExists(atPath: metadataPath(name)) && !fm.fileExists(atPath: deletingMarker(name))
        }.sorted()
    }

    /// A snapshot's metadata is renamed to this before the snapshot goes, so a killed delete
    /// is finished, never mistaken for a half-made snapshot.
    static let deletingPrefix = ".deleting-"
    func deletingMarker(_ name: String) -> String { layout.snapshots + "/" + Self.deletingPrefix + name + ".json" }

    public func read(_ name: String) throws(PGArchiveError) -> SnapshotMetadata {
        guard let data = FileManager.default.contents(atPath: metadataPath(name)),
              FileManager.default.fileExists(atPath: layout.snapshot(name)) else {
            throw PGArchiveError("no snapshot \(name)")
        }
        do { return try Self.decoder.decode(SnapshotMetadata.self, from: data) } catch {
            throw PGArchiveError("cannot read \(metadataPath(name)): \(error)")
        }
    }

    /// The named snapshot, or an error listing what exists.
    public func get(_ name: String) throws(PGArchiveError) -> SnapshotMetadata {
        try ObjectName.validate(name, kind: "snapshot")
        if let metadata = try? read(name) { return metadata }
        let all = try list()
        let hint = all.isEmpty ? "there are no snapshots yet; `pgarchive snapshot create` takes one"
            : "`pgarchive snapshot list` shows the \(all.count) that exist (newest: \(all.last!.name))"
        throw PGArchiveError("snapshot '\(name)' not found; \(hint)")
    }

    /// The project's JSON coder (`JSONCoding`), forwarded for the many call sites that name it here.
    public static var encoder: JSONEncoder { JSONCoding.encoder }
    public static var decoder: JSONDecoder { JSONCoding.decoder }

    /// Cleans up after interrupted creates and deletes; called with the snapshots lock held.
    /// Removes `.creating-PID` whose process is gone and metadata whose snapshot was never
    /// renamed into place, and finishes deletes that were killed half-way (`.deleting-NAME.json`).
    func removeLeftovers(logger: Logger) {
        let fm = FileManager.default
        let names = (try? fm.contentsOfDirectory(atPath: layout.snapshots)) ?? []
        for name in names.sorted() {
            if name.hasPrefix(".creating-") {
                if let pid = pid_t(name.dropFirst(".creating-".count)), Processes.isAlive(pid) { continue }
                do {
                    try Subvolume.delete(layout.snapshots + "/" + name)
                    logger.notice("removed \(name), left by an interrupted snapshot create")
                } catch {
                    logger.error("could not remove \(name), left by an interrupted snapshot create: \(error)")
                }
            } else if name.hasPrefix(Self.deletingPrefix), name.hasSuffix(".json") {
                let snapshot = String(name.dropFirst(Self.deletingPrefix.count).dropLast(5))
                guard (try? ObjectName.validate(snapshot, kind: "snapshot")) != nil else { continue }
                do {
                    if fm.fileExists(atPath: layout.snapshot(snapshot)) { try Subvolume.delete(layout.snapshot(snapshot)) }
                    try? fm.removeItem(atPath: layout.snapshots + "/" + name)
                    logger.notice("finished deleting snapshot \(snapshot), which an interrupted delete had left")
                } catch {
                    logger.error("could not finish deleting snapshot \(snapshot): \(error)")
                }
            } else if !name.hasPrefix("."), name.hasSuffix(".json"), !fm.fileExists(atPath: layout.snapshot(String(name.dropLast(5)))) {
                try? fm.removeItem(atPath: layout.snapshots + "/" + name)
                logger.notice("removed \(name): metadata of a snapshot create that was interrupted before the snapshot was in place")
            }
        }
    }

    /// Deletes a snapshot. The metadata is first renamed to `.deleting-NAME.json`, so the
    /// snapshot stops being offered at once and a delete killed half-way is finished by the
    /// next create, delete or expire instead of leaving a snapshot without metadata.
    func delete(_ name: String) throws {
        let marker = deletingMarker(name)
        if rename(metadataPath(name), marker) != 0 && errno != ENOENT {
            throw PGArchiveError("cannot rename \(metadataPath(name)) to \(marker): \(String(cString: strerror(errno)))")
        }
        FaultInjection.point("snapshot-delete-marked")
        if FileManager.default.fileExists(atPath: layout.snapshot(name)) {
            try Subvolume.delete(layout.snapshot(name))
        }
        try? FileManager.default.removeItem(atPath: marker)
    }
}

extension Container {
    public var snapshots: SnapshotStore { SnapshotStore(layout: layout) }

    /// `snapshot create`: a restartpoint on the standby, then a read-only btrfs snapshot of
    /// `standby/`. The CHECKPOINT matters: a clone starts replay at the snapshot's REDO
    /// point, so a fresh restartpoint means little WAL to replay on restore.
    @discardableResult
    public func createSnapshot(force: Bool, now: Date = Date()) async throws -> SnapshotMetadata {
        let store = snapshots
        store.removeLeftovers(logger: logger)
        guard standby.exists else {
            throw PGArchiveError("there is no standby in \(layout.standby) to snapshot (retired container?)")
        }
        let outside = Tablespaces.problems(dataDirectory: layout.standby, what: "the standby")
        guard outside.isEmpty else {
            throw PGArchiveError("no snapshot taken: " + outside.joined(separator: "; ") + ". A snapshot would not contain that tablespace; `pgarchive container resync` takes a new base backup with every tablespace inside standby/")
        }
        let running = standby.state().isRunning
        if running {
            let connection = try standbyConnection()
            defer { connection.close() }
            try requireStandbyInRecovery(connection: connection, control: nil)
            refreshTablespaceMap(connection: connection)
            try connection.checkpoint()
        } else if !force {
            throw PGArchiveError("the standby is not running, so its data may be far behind; start it with `pgarchive container start`, or snapshot it as it is with --force")
        }
        let binaries = try await binaries()
        let before = try await ControlData.read(dataDirectory: layout.standby, binaries: binaries)
        try requireStandbyInRecovery(connection: nil, control: before)
        let age = now.timeIntervalSince(before.checkpointTime)
        if age > Double(config.snapshotMaxRestartpointAge.seconds) && !force {
            throw PGArchiveError("the standby's newest restartpoint is from \(ISO8601.utc(before.checkpointTime)) (\(TimeSpan(seconds: Int64(age))) ago, more than snapshot_max_restartpoint_age = \(config.snapshotMaxRestartpointAge)): the upstream has not checkpointed since, or the standby is behind (see `pgarchive container status`). Use --force to snapshot anyway")
        }
        let existingName = ISO8601.utc(before.checkpointTime)
        if let existing = try? store.read(existingName) {
            logger.notice("snapshot \(existingName) already exists: the standby has had no new restartpoint since it was taken (the upstream checkpoints every checkpoint_timeout)")
            return existing
        }

        let temporary = layout.snapshots + "/.creating-\(getpid())"
        try Subvolume.snapshot(source: layout.standby, destination: temporary, readOnly: true)
        FaultInjection.point("snapshot-create-copied")
        do {
            // Read after the snapshot: upper bounds of what the snapshot contains.
            let reading = running ? StandbyReading.read(try? standbyConnection()) : nil
            let takenAt = Date()
            let control = try await ControlData.read(dataDirectory: temporary, binaries: binaries)
            let name = ISO8601.utc(control.checkpointTime)
            if let existing = try? store.read(name) {
                try Subvolume.delete(temporary)
                logger.notice("snapshot \(name) already exists: no new restartpoint since it was taken")
                return existing
            }
            var metadata = SnapshotMetadata(control: control, takenAt: takenAt, standby: reading,
                                            pgarchiveVersion: PGArchiveVersion.string)
            (metadata.pgMajorVersion, metadata.pgBindir) = (binaries.majorVersion, binaries.bindir)
            try AtomicFile.write(try JSONCoding.encoder.encode(metadata), to: store.metadataPath(name))
            FaultInjection.point("snapshot-create-described")
            guard rename(temporary, layout.snapshot(name)) == 0 else {
                let message = String(cString: strerror(errno))
                try? FileManager.default.removeItem(atPath: store.metadataPath(name))
                throw PGArchiveError("cannot rename \(temporary) to \(layout.snapshot(name)): \(message)")
            }
            logger.info("created snapshot \(name) (REDO \(metadata.redoLSN), restorable from \(ISO8601.utc(metadata.consistentFrom)))")
            return metadata
        } catch {
            try? Subvolume.delete(temporary)
            throw error
        }
    }

    /// For `snapshot create --checkpoint-upstream`: CHECKPOINT on the upstream, close its WAL
    /// segment (the standby replays complete segments only) and wait until the standby has
    /// replayed past it, so the next restartpoint, and the snapshot, hold everything
    /// committed upstream before this call. Returns the LSN waited for.
    @discardableResult
    public func checkpointUpstreamAndWaitForReplay(timeout: TimeInterval) async throws -> LSN {
        // Snapshots are named after their restartpoint's second: an upstream checkpoint in the
        // newest snapshot's second would look like that snapshot.
        if let newest = try? snapshots.list().last {
            let second = newest.checkpointTime.timeIntervalSince1970.rounded(.down)
            let wait = second + 1 - Date().timeIntervalSince1970
            if wait > 0 { try await Task.sleep(for: .milliseconds(Int(wait * 1000) + 10)) }
        }
        let upstream: Connection
        do { upstream = try upstreamConnection() } catch {
            throw PGArchiveError("--checkpoint-upstream needs the upstream: \(error)")
        }
        defer { upstream.close() }
        do { try upstream.checkpoint() } catch {
            throw PGArchiveError("cannot CHECKPOINT the upstream (\(error)); the role of `upstream` needs superuser or pg_checkpoint: GRANT pg_checkpoint TO <role>")
        }
        let target: LSN
        do { target = try upstream.switchWAL() } catch {
            throw PGArchiveError("cannot close the upstream's WAL segment (\(error)); the role of `upstream` needs superuser or GRANT EXECUTE ON FUNCTION pg_switch_wal() TO <role>")
        }
        logger.info("CHECKPOINT on the upstream; waiting for the standby to replay up to \(target)")
        let deadline = Date().addingTimeInterval(timeout)
        var replayed: LSN?
        while true {
            if let connection = try? standbyConnection() {
                replayed = try? connection.lastReplayLSN()
                connection.close()
                if let replayed, replayed >= target { return target }
            }
            guard Date() < deadline else { break }
            try await Task.sleep(for: .milliseconds(250))
        }
        let position = replayed.map { "it has replayed up to \($0)" } ?? "it does not answer"
        throw PGArchiveError("the standby has not replayed up to the upstream's \(target) within \(Int(timeout)) s (\(position)); see `pgarchive container status` for the receiver and the standby")
    }

    /// Names of clones based on each snapshot.
    public func cloneDependents() -> [String: [String]] {
        var result: [String: [String]] = [:]
        for clone in (try? clones.list()) ?? [] { result[clone.snapshot, default: []].append(clone.name) }
        return result
    }

    /// Deletes snapshots by name. Every name is checked before anything is deleted.
    public func deleteSnapshots(_ names: [String], force: Bool) throws {
        snapshots.removeLeftovers(logger: logger)
        var seen = Set<String>()
        let dependents = cloneDependents()
        for name in names {
            // A snapshot without readable metadata is never offered, but may still be deleted.
            if !snapshots.lacksReadableMetadata(name) { _ = try snapshots.get(name) }
            guard seen.insert(name).inserted else { throw PGArchiveError("snapshot '\(name)' is named twice") }
            if let users = dependents[name], !force {
                throw PGArchiveError("snapshot '\(name)' is the base of clone(s) \(users.joined(separator: ", ")); delete them first or use --force (the clones keep working: btrfs shares the data)")
            }
        }
        for name in names {
            try snapshots.delete(name)
            logger.info("deleted snapshot \(name)")
        }
    }
}
