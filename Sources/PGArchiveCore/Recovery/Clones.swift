import Btrfs
import Foundation
import Logging
import Postgres

/// What pgarchive records about a clone, inside it as `pgarchive.clone.json`.
public struct CloneMetadata: Codable, Sendable, Equatable {
    public var name: String
    public var snapshot: String
    public var target: RecoveryTarget
    public var port: Int
    public var createdAt: Date
    /// The `--allow` rules the clone was created with (absent: only the service user).
    public var allow: [CloneAccessRule]? = nil
}

public struct CloneStore: Sendable {
    public let layout: ContainerLayout

    public init(layout: ContainerLayout) { self.layout = layout }

    static let metadataFile = "pgarchive.clone.json"

    public func list() throws(PGArchiveError) -> [CloneMetadata] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: layout.clones)) ?? []
        return names.filter { !$0.hasPrefix(".") }.sorted().compactMap { try? read($0) }
    }

    /// A clone is made as `clones/.creating-PID-NAME` and renamed to `clones/NAME` once it is
    /// prepared and described, so a killed `clone create` never leaves a half-made clone
    /// under the clone's name.
    static let creatingPrefix = ".creating-"
    func temporaryDirectory(for name: String) -> String { layout.clones + "/\(Self.creatingPrefix)\(getpid())-\(name)" }

    /// Leftovers of killed creates: `.creating-PID-NAME` whose process is gone, as paths.
    public func leftovers() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: layout.clones)) ?? []
        return names.filter { name in
            guard name.hasPrefix(Self.creatingPrefix) else { return false }
            let rest = name.dropFirst(Self.creatingPrefix.count)
            guard let dash = rest.firstIndex(of: "-"), let pid = pid_t(rest[..<dash]) else { return true }
            return !Processes.isAlive(pid)
        }.sorted().map { layout.clones + "/" + $0 }
    }

    /// A directory under `clones/` named like a clone but without its metadata.
    public func isHalfMade(_ name: String) -> Bool {
        let fm = FileManager.default
        return fm.fileExists(atPath: layout.clone(name)) && !fm.fileExists(atPath: layout.clone(name) + "/" + Self.metadataFile)
    }

    func read(_ name: String) throws(PGArchiveError) -> CloneMetadata {
        let path = layout.clone(name) + "/" + Self.metadataFile
        guard let data = FileManager.default.contents(atPath: path) else { throw PGArchiveError("no clone \(name)") }
        do { return try SnapshotStore.decoder.decode(CloneMetadata.self, from: data) } catch {
            throw PGArchiveError("cannot read \(path): \(error)")
        }
    }

    public func get(_ name: String) throws(PGArchiveError) -> CloneMetadata {
        try ObjectName.validate(name, kind: "clone")
        if let clone = try? read(name) { return clone }
        let all = try list()
        throw PGArchiveError("clone '\(name)' not found; " + (all.isEmpty ? "there are no clones" : "existing clones: \(all.map(\.name).joined(separator: ", "))"))
    }

    public func logFile(_ name: String) -> String { layout.logs + "/clone_\(name).log" }

    public func state(_ name: String) -> DaemonState {
        Processes.postmasterState(dataDirectory: layout.clone(name))
    }
}

extension Container {
    public var clones: CloneStore { CloneStore(layout: layout) }

    /// A port for new clone `name`: from `clone_port_base` (default standby_port + 1) on,
    /// free on TCP, not used by this container's clones, and not recorded in the port
    /// registry for another container or clone (which may not be listening yet).
    func clonePort(for name: String) throws -> Int {
        let used = Set(((try? clones.list()) ?? []).map(\.port) + [config.standbyPort])
        let start = config.clonePortBase > 0 ? config.clonePortBase : config.standbyPort + 1
        return try PortRegistry.reserve(for: layout.clone(name), startingAt: start, avoiding: used)
    }

    /// `clone create`: a writable snapshot of the chosen snapshot in `clones/NAME`, prepared
    /// to recover to `target` and promote; not started.
    /// `allow`: the roles (and networks) that may log in besides the service user
    /// (`--allow`); temporary clones pass none.
    public func createClone(name: String, target: RecoveryTarget, snapshot explicit: String?,
                            allow: [CloneAccessRule] = []) async throws -> CloneMetadata {
        try ObjectName.validate(name, kind: "clone")
        try CloneAccess.validate(allow, listenAddresses: config.cloneListenAddresses)
        guard !FileManager.default.fileExists(atPath: layout.clone(name)) else {
            if clones.isHalfMade(name) {
                throw PGArchiveError("clones/\(name) exists but is half-made (it has no \(CloneStore.metadataFile)); `pgarchive clone delete \(name)` removes it")
            }
            throw PGArchiveError("clone '\(name)' exists already; delete it first (`pgarchive clone delete \(name)`) or pick another name")
        }
        let plan = try recoveryPlan(for: target, snapshot: explicit, refusingFutureTimes: true)
        let base = plan.snapshot
        removeCloneLeftovers()
        let port = try clonePort(for: name)
        let directory = clones.temporaryDirectory(for: name)
        try Subvolume.snapshot(source: layout.snapshot(base.name), destination: directory, readOnly: false)
        FaultInjection.point("clone-create-copied")
        do {
            let outside = Tablespaces.problems(dataDirectory: directory, what: "snapshot \(base.name)")
            guard outside.isEmpty else {
                throw PGArchiveError("clone \(name) not created: " + outside.joined(separator: "; ") + ". This snapshot predates pgarchive's tablespace mapping; a clone of it would read and write another copy's tablespace. Use a snapshot taken after `pgarchive container resync`")
            }
            try prepareRecovery(dataDirectory: directory, plan: plan, port: port, listen: config.cloneListenAddresses, allow: allow)
            var metadata = CloneMetadata(name: name, snapshot: base.name, target: target, port: port, createdAt: Date())
            if !allow.isEmpty { metadata.allow = allow }
            try AtomicFile.write(try SnapshotStore.encoder.encode(metadata), to: directory + "/" + CloneStore.metadataFile)
            FaultInjection.point("clone-create-described")
            // rename(2) fails rather than replace a directory that appeared meanwhile.
            guard rename(directory, layout.clone(name)) == 0 else {
                throw PGArchiveError("cannot rename \(directory) to \(layout.clone(name)): \(String(cString: strerror(errno)))")
            }
            logger.info("created clone \(name) from snapshot \(base.name), recovering to \(target), port \(port)")
            return metadata
        } catch {
            try? Subvolume.delete(directory)
            throw error
        }
    }

    /// Prepares a copy of the standby's data directory for a targeted recovery that ends in
    /// promotion (docs/ARCHITECTURE.md, Recovery/): no postmaster.pid/opts, the signal files and recovery
    /// settings of `RecoverySettings` (it pauses at its target for `ClonePromotion`),
    /// restore_command with --partial-ok, one recovery target, its own port, archiving off
    /// (the recovery settings from `RecoverySettings.clone`).
    /// backup_label, if any, is kept: removing it would corrupt the copy.
    func prepareRecovery(dataDirectory: String, plan: RecoveryPlan, port: Int, listen: String,
                         allow: [CloneAccessRule] = []) throws {
        let fm = FileManager.default
        for file in ["postmaster.pid", "postmaster.opts", "standby.signal"] {
            try? fm.removeItem(atPath: dataDirectory + "/" + file)
        }
        for file in RecoverySettings.cloneSignalFiles(plan) { try AtomicFile.write("", to: dataDirectory + "/" + file) }
        var upstream: [String: String] = [:]
        let upstreamFile = dataDirectory + "/pgarchive.upstream.conf"
        if let text = try? String(contentsOfFile: upstreamFile, encoding: .utf8) {
            for entry in try ConfigFile.parse(text, file: upstreamFile) { upstream[entry.key] = entry.value }
        }
        var conf = ServerConfiguration(
            port: port, socketDirectory: layout.run,
            restoreCommand: RecoverySettings.cloneRestoreCommand(container: layout.root),
            upstreamSettings: upstream)
        conf.listenAddresses = listen
        conf.walSegmentSize = ServerConfiguration.walSegmentSize(dataDirectory: dataDirectory)
        conf.extra = RecoverySettings.clone(plan)
        conf.extra += CloneAccess.sslSettings(dataDirectory: dataDirectory, rules: allow, logger: logger)
        try AtomicFile.write(conf.rendered(), to: dataDirectory + "/postgresql.conf")
        try AtomicFile.write(CloneAccess.hbaFile(rules: allow), to: dataDirectory + "/pg_hba.conf")
        try AtomicFile.write(CloneAccess.identFile(serviceUser: CloneAccess.serviceUser, standbyUser: config.standbyUser),
                             to: dataDirectory + "/pg_ident.conf")
        try AtomicFile.write("", to: dataDirectory + "/postgresql.auto.conf")
    }

    /// Starts a clone and waits until recovery has finished, the server is promoted and
    /// accepts connections. Success is read from the server itself, never from pg_ctl's exit
    /// code (which is 0 even when recovery then fails); failures are read from its log and
    /// explained, and no failed server is left running.
    public func startClone(_ name: String, timeout: TimeInterval = 900) async throws -> CloneMetadata {
        let clone = try clones.get(name)
        if case .running(let pid) = clones.state(name) {
            guard isRunningInRecovery(clone) else {
                logger.info("clone \(name) is already running (pid \(pid), port \(clone.port))")
                return clone
            }
            // Its clone start was interrupted (or it was started by hand): it waits at its
            // target for the promotion (ClonePromotion), which this start does now.
            logger.notice("clone \(name) is running (pid \(pid)) but still in recovery; waiting for it to reach its target and promoting it")
            let target = Self.effectiveTarget(recorded: clone.target, postgresqlConf: try? String(contentsOfFile: layout.clone(name) + "/postgresql.conf", encoding: .utf8))
            return try await startCloneServer(clone, expectation: RecoveryExpectation(target: target), timeout: timeout, alreadyRunning: true)
        }
        if case .stalePIDFile = clones.state(name) { Processes.clearStalePostmasterPID(dataDirectory: layout.clone(name), logger: logger) }
        // A clone still to recover must be able to reach its target (RecoveryPreflight.swift).
        var expectation: RecoveryExpectation?
        if stillToRecover(layout.clone(name)) {
            guard let base = try? snapshots.get(clone.snapshot) else {
                // Its snapshot was deleted with --force: the WAL cannot be checked before the
                // start, only the stop reason after it.
                logger.warning("snapshot \(clone.snapshot) of clone \(name) no longer exists; the archive's WAL is not checked for gaps before the start")
                expectation = RecoveryExpectation(target: clone.target)
                return try await startCloneServer(clone, expectation: expectation, timeout: timeout)
            }
            let target = Self.effectiveTarget(recorded: clone.target, postgresqlConf: try? String(contentsOfFile: layout.clone(name) + "/postgresql.conf", encoding: .utf8))
            do { expectation = try await recoveryPreflight(from: base, target: target) } catch {
                throw PGArchiveError("clone \(name) was not started: \(error)\nNo server was started; the clone is left as created (stopped). Delete it with `pgarchive clone delete \(name)`.")
            }
        }
        return try await startCloneServer(clone, expectation: expectation, timeout: timeout)
    }

    /// `startClone` after its checks: pg_ctl start (unless `alreadyRunning`), wait for the
    /// promotion, check where recovery ended against `expectation` (nil: the clone was
    /// promoted before).
    private func startCloneServer(_ clone: CloneMetadata, expectation: RecoveryExpectation?, timeout: TimeInterval,
                                  alreadyRunning: Bool = false) async throws -> CloneMetadata {
        let name = clone.name
        let log = clones.logFile(name)
        let logStart = LogFile.size(log)
        if !alreadyRunning {
            let binaries = try await binaries(forDataDirectory: layout.clone(name)) // its own major version (UpstreamIdentity.swift)
            try await raiseCloneHotStandbySettings(dataDirectory: layout.clone(name), binaries: binaries)
            try await PgCtl(binaries: binaries, action: .start, dataDirectory: layout.clone(name), logFile: log, wait: false).command.runChecked()
            logger.info("starting clone \(name) on port \(clone.port); recovering to \(clone.target)")
        }
        let conninfo = cloneConninfo(clone)
        let started = Date()
        var lastNote = Date()
        while Date().timeIntervalSince(started) < timeout {
            let state = clones.state(name)
            if !state.isRunning && Date().timeIntervalSince(started) > 3 {
                if immediateRecoveryEndedAtEndOfWAL(clone, log: log, logStart: logStart) { return try await startClone(name, timeout: timeout) }
                throw cloneFailure(clone, log: log, logStart: logStart)
            }
            if state.isRunning, let connection = try? Connection(conninfo: conninfo, connectTimeout: 3) {
                defer { connection.close() }
                connection.noticeHandler = { _ in } // the server log has them; keep stderr for our own messages
                if let inRecovery = try? connection.isInRecovery(), !inRecovery {
                    // The timeline of the WAL it writes now: pg_control's checkpoint is still the
                    // old timeline's until the background end-of-recovery checkpoint is done.
                    let walFile = (try? connection.query("SELECT pg_walfile_name(pg_current_wal_lsn())").rows.first?[0]) ?? nil
                    let timeline = walFile.flatMap { UInt32($0.prefix(8), radix: 16) }
                    if let expectation, let problem = recoveryEndProblem(dataDirectory: layout.clone(name), timeline: timeline, expected: expectation) {
                        connection.close()
                        _ = try? await stopClone(name, mode: .immediate)
                        throw PGArchiveError("clone \(name) did not reach its target (\(clone.target)): \(problem). PostgreSQL promoted it anyway, so it holds less data than asked for. \(clones.state(name).isRunning ? "The clone could not be stopped: stop it with `pgarchive clone stop \(name)`" : "The clone is stopped"); a promoted clone cannot replay more WAL: delete it (`pgarchive clone delete \(name)`), check the archive (`pgarchive verify`) and the clone's log (\(log)), and create it again.")
                    }
                    logger.info("clone \(name) is promoted\(timeline.map { " on timeline \($0)" } ?? "") and accepts connections on port \(clone.port) (socket in \(layout.run))")
                    return clone
                }
                if promoteCloneIfDue(clone, connection: connection, expectation: expectation) { continue }
            }
            if Date().timeIntervalSince(lastNote) > 15 {
                logger.info("clone \(name) is still recovering")
                lastNote = Date()
            }
            try await Task.sleep(for: .milliseconds(250))
        }
        _ = try? await stopClone(name, mode: .immediate)
        throw PGArchiveError("clone \(name) did not finish recovery within \(Int(timeout)) s and was stopped; see \(log):\n" + LogFile.tail(log, from: logStart, lines: 12))
    }

    /// conninfo of a clone for pgarchive and `clone psql`: its socket in run/, its port, the
    /// recorded superuser (peer authentication as the service user), values quoted.
    public func cloneConninfo(_ clone: CloneMetadata) -> String {
        Conninfo([("host", layout.run), ("port", String(clone.port)), ("dbname", "postgres"), ("user", config.standbyUser)]).rendered
    }

    /// Turns the FATAL lines of a failed recovery into advice.
    func cloneFailure(_ clone: CloneMetadata, log: String, logStart: UInt64) -> PGArchiveError {
        let tail = LogFile.tail(log, from: logStart, lines: 200)
        let fatal = tail.split(separator: "\n").filter { $0.contains("FATAL:") || $0.contains("PANIC:") || $0.hasPrefix("pgarchive wal fetch: ") }.map { $0.trimmingCharacters(in: .whitespaces) }
        let known = ((try? snapshots.list()) ?? [])
        var advice: String
        if tail.contains("requested recovery stop point is before consistent recovery point") {
            let older = known.filter { $0.checkpointTime < (known.first { $0.name == clone.snapshot }?.checkpointTime ?? .distantPast) }
            advice = "the target lies before the point where snapshot \(clone.snapshot) becomes consistent. "
            advice += older.isEmpty ? "No older snapshot exists, so this target cannot be restored."
                : "Use an older snapshot with --snapshot (e.g. \(older.last!.name), restorable from \(ISO8601.utc(older.last!.consistentFrom)))."
        } else if tail.contains("recovery ended before configured recovery target was reached") {
            var newest = "use --latest for the newest state"
            if let standby = try? standbyConnection(), let last = try? standby.lastTransactionReplayTimestamp() {
                newest = "the standby has replayed up to \(ISO8601.utc(last)); use an earlier target or --latest for the newest state"
                standby.close()
            }
            advice = "the archive's WAL ends before the target (\(clone.target)); \(newest)."
        } else {
            advice = "recovery failed."
        }
        return PGArchiveError("clone \(clone.name) did not start: \(advice)\n" + (fatal.isEmpty ? LogFile.tail(log, from: logStart, lines: 12) : fatal.map { "  " + $0 }.joined(separator: "\n")) + "\nThe clone is stopped; delete it with `pgarchive clone delete \(clone.name)`.")
    }

    public func stopClone(_ name: String, mode: PgCtl.ShutdownMode = .fast) async throws -> Bool {
        _ = try clones.get(name)
        guard clones.state(name).isRunning else { return false }
        let binaries = try await binaries(forDataDirectory: layout.clone(name))
        try await PgCtl(binaries: binaries, action: .stop, dataDirectory: layout.clone(name), wait: true, timeout: 120, mode: mode).command.runChecked()
        logger.info("stopped clone \(name)")
        return true
    }

    /// Deletes a clone; a running one only with `force` (it is stopped first).
    public func deleteClone(_ name: String, force: Bool) async throws {
        try ObjectName.validate(name, kind: "clone")
        if clones.isHalfMade(name) {
            // Made by hand or by an older pgarchive killed mid-create: no metadata, so check
            // the directory itself for a server before deleting it.
            if case .running(let pid) = Processes.postmasterState(dataDirectory: layout.clone(name)) {
                throw PGArchiveError("clones/\(name) has no metadata but a server runs in it (pid \(pid)); stop it first")
            }
            try Subvolume.delete(layout.clone(name))
            logger.info("deleted half-made clone \(name) (it had no \(CloneStore.metadataFile))")
            return
        }
        _ = try clones.get(name)
        if clones.state(name).isRunning {
            guard force else {
                throw PGArchiveError("clone '\(name)' is running; stop it first (`pgarchive clone stop \(name)`) or use --force")
            }
            _ = try await stopClone(name, mode: .immediate)
        }
        try Subvolume.delete(layout.clone(name))
        logger.info("deleted clone \(name)")
    }

    /// Removes what killed `clone create`s left (`clones/.creating-PID-NAME`).
    func removeCloneLeftovers() {
        for path in clones.leftovers() {
            do {
                try Subvolume.delete(path)
                logger.notice("removed \((path as NSString).lastPathComponent), left by an interrupted clone create")
            } catch {
                logger.error("could not remove \(path), left by an interrupted clone create: \(error)")
            }
        }
    }

    /// A writable snapshot of clone SRC as clone DST, with its own port.
    public func duplicateClone(_ source: String, as destination: String) throws -> CloneMetadata {
        var metadata = try clones.get(source)
        try ObjectName.validate(destination, kind: "clone")
        guard !FileManager.default.fileExists(atPath: layout.clone(destination)) else {
            throw PGArchiveError("clone '\(destination)' exists already")
        }
        let port = try clonePort(for: destination)
        try Subvolume.snapshot(source: layout.clone(source), destination: layout.clone(destination), readOnly: false)
        do {
            let dir = layout.clone(destination)
            for file in ["postmaster.pid", "postmaster.opts"] { try? FileManager.default.removeItem(atPath: dir + "/" + file) }
            var text = try String(contentsOfFile: dir + "/postgresql.conf", encoding: .utf8)
            text = text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.hasPrefix("port = ") ? "port = \(port)" : String($0) }.joined(separator: "\n")
            try AtomicFile.write(text, to: dir + "/postgresql.conf")
            metadata.name = destination
            metadata.port = port
            metadata.createdAt = Date()
            try AtomicFile.write(try SnapshotStore.encoder.encode(metadata), to: dir + "/" + CloneStore.metadataFile)
        } catch {
            try? Subvolume.delete(layout.clone(destination))
            throw error
        }
        logger.info("duplicated clone \(source) as \(destination) (port \(port))")
        return metadata
    }
}
