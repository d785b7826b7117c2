import Foundation
import Logging
import Postgres

extension Container {
    /// Removes what interrupted dump runs left: `.incomplete-*`/`.expired-*` directories and
    /// temporary clones whose `dump create` is gone (a killed dump leaves its clone running:
    /// it is stopped first, which also ends pg_dumps orphaned by the kill, then the directories go).
    public func removeDumpLeftovers() async {
        for clone in (try? clones.list()) ?? [] where clone.name.hasPrefix(DumpStore.temporaryClonePrefix) {
            let marker = layout.clone(clone.name) + "/" + DumpStore.cloneMarkerFile
            guard let pid = Processes.readPIDFile(marker) else { continue } // a user's own clone named dump-…
            if pid != getpid() && DumpStore.isLivePGArchive(pid) { continue }
            do {
                try await deleteClone(clone.name, force: true)
                logger.notice("removed temporary clone \(clone.name), left by an interrupted dump create (pid \(pid))")
            } catch {
                logger.warning("cannot remove temporary clone \(clone.name): \(error)")
            }
        }
        let store = dumpStore
        for path in store.leftovers() {
            if let pid = DumpStore.leftoverPID(path), pid != getpid(), DumpStore.isLivePGArchive(pid) { continue }
            do {
                try FileManager.default.removeItem(atPath: path)
                logger.notice("removed \(path), left by an interrupted dump")
            } catch {
                logger.warning("cannot remove \(path): \(error.localizedDescription)")
            }
        }
    }

    /// Non-template databases that accept connections, sorted.
    static func dumpableDatabases(_ connection: Connection) throws -> [String] {
        try connection.query("SELECT datname FROM pg_database WHERE NOT datistemplate AND datallowconn ORDER BY datname")
            .rows.compactMap { $0[0] }
    }

    static func checkRequested(_ requested: [String], existing: [String], source: String) throws(PGArchiveError) {
        let unknown = requested.filter { !existing.contains($0) }
        guard unknown.isEmpty else {
            throw PGArchiveError("no database \(unknown.map { "'\($0)'" }.joined(separator: ", ")) on \(source) (or it is a template or does not allow connections); databases: \(existing.map { "'\($0)'" }.joined(separator: ", "))")
        }
    }

    /// `dump create`: dumps every non-template database (or the named ones) and the globals.
    /// By default the source is a temporary clone of the newest snapshot, recovered to the
    /// newest WAL in the archive (`startDumpClone`): the upstream sees no load, every database
    /// shows the same moment, and that moment is the newest the archive holds. The clone is
    /// named `dump-<pid>`, visible in `clone list`, and removed afterwards, also when a dump
    /// fails. Databases are dumped one after the other; one that fails does not stop
    /// the others, and the command fails at the end naming it.
    public func createDumps(databases requested: [String], fromUpstream: Bool, jobs: Int?) async throws -> [DumpRun] {
        await removeDumpLeftovers()
        let jobs = jobs ?? config.dumpJobs
        guard jobs >= 1 else { throw PGArchiveError("--jobs must be at least 1") }
        var seen = Set<String>()
        for name in requested where !seen.insert(name).inserted { throw PGArchiveError("database '\(name)' is named twice") }
        let binaries = try await binaries()

        // Names are checked against the source itself: the temporary clone replays WAL the
        // standby has not (the .partial segment), so a database the standby lacks may be there.

        var cloneName: String?
        let sourceConninfo: Conninfo
        let source: String
        var dataAsOf: Date?
        if fromUpstream {
            sourceConninfo = try Conninfo(config.upstream)
            source = "upstream"
        } else {
            let (clone, asOf) = try await startDumpClone()
            cloneName = clone.name
            source = clone.snapshot
            dataAsOf = asOf
            sourceConninfo = try Conninfo(cloneConninfo(clone))
        }
        let runs: [DumpRun]
        do {
            runs = try await dumpDatabases(requested, from: sourceConninfo, source: source,
                                           dataAsOf: dataAsOf, jobs: jobs, binaries: binaries)
        } catch {
            guard let cloneName else { throw error }
            throw await deleteTemporaryClone(cloneName, after: error, what: "dump create")
        }
        if let cloneName {
            do { try await deleteClone(cloneName, force: true) } catch {
                throw PGArchiveError("the dumps are complete, but the temporary clone \(cloneName) could not be deleted (\(error)); the next `pgarchive dump create` removes it, or `pgarchive clone delete --force \(cloneName)`")
            }
        }
        return runs
    }

    private func dumpDatabases(_ requested: [String], from source: Conninfo, source sourceName: String, dataAsOf: Date?,
                               jobs: Int, binaries: PostgresBinaries) async throws -> [DumpRun] {
        let connection = try Connection(conninfo: source.rendered, connectTimeout: 10)
        let existing: [String]
        let serverVersion: String
        do {
            defer { connection.close() }
            existing = try Self.dumpableDatabases(connection)
            serverVersion = try connection.query("SHOW server_version").rows.first?[0] ?? "?"
        }
        try Self.checkRequested(requested, existing: existing, source: sourceName == "upstream" ? "the upstream" : "snapshot \(sourceName) recovered to the archive's newest WAL")
        let databases = requested.isEmpty ? existing : requested
        let store = dumpStore

        // One name for the whole run, unused for every database.
        var started = Date()
        var runName = DumpStore.runName(started)
        while databases.contains(where: { FileManager.default.fileExists(atPath: store.runDirectory($0, runName)) }) {
            try await Task.sleep(for: .milliseconds(250))
            started = Date()
            runName = DumpStore.runName(started)
        }
        let compress = config.btrfsCompression == "none"
        let pid = getpid()

        let globals = layout.dumps + "/.globals-\(runName)-\(pid).sql"
        defer { unlink(globals) }
        logger.info("dumping globals (roles, tablespaces) from \(sourceName)")
        try await PgDumpAll(binaries: binaries, conninfo: source.setting("dbname", "postgres").rendered,
                            outputFile: globals, globalsOnly: true).command.runChecked()
        try Tablespaces.restoreUpstreamLocations(globals: globals, Tablespaces.readMap(dataDirectory: layout.standby))

        var done: [DumpRun] = []
        var failures: [String] = []
        for database in databases {
            do {
                let run = try await dumpOne(database, runName: runName, started: started, from: source, sourceName: sourceName,
                                            dataAsOf: dataAsOf ?? started, jobs: jobs, compress: compress,
                                            serverVersion: serverVersion, globals: globals, binaries: binaries)
                done.append(run)
            } catch {
                logger.error("dump of database '\(database)' failed: \(error)")
                failures.append("'\(database)': \(error)")
            }
        }
        if !failures.isEmpty {
            throw PGArchiveError("\(failures.count) of \(databases.count) database dump(s) failed (the others are complete):\n" + failures.joined(separator: "\n"))
        }
        return done
    }

    private func dumpOne(_ database: String, runName: String, started: Date, from source: Conninfo, sourceName: String,
                         dataAsOf: Date, jobs: Int, compress: Bool, serverVersion: String, globals: String,
                         binaries: PostgresBinaries) async throws -> DumpRun {
        let store = dumpStore
        let databaseDirectory = store.databaseDirectory(database)
        if !FileManager.default.fileExists(atPath: databaseDirectory) {
            guard mkdir(databaseDirectory, 0o700) == 0 || errno == EEXIST else {
                throw PGArchiveError("cannot create \(databaseDirectory): \(String(cString: strerror(errno)))")
            }
        }
        let previous = store.runs(database).last
        let temporary = databaseDirectory + "/.incomplete-\(runName)-\(getpid())"
        let final = store.runDirectory(database, runName)
        logger.info("dumping database '\(database)' from \(sourceName) with \(jobs) job(s)")
        do {
            try await PgDump(binaries: binaries, conninfo: source.setting("dbname", database).rendered,
                             outputFile: temporary, format: .directory, jobs: jobs,
                             compressLevel: compress ? nil : 0).command.runChecked()
            try FileCopy.clone(from: globals, to: temporary + "/" + DumpStore.globalsFile)
            var shared = 0
            if let previous {
                shared = try DumpSpace.shareUnchangedFiles(in: temporary, previous: store.runDirectory(database, previous.name),
                                                           skip: [DumpStore.metadataFile])
            }
            let size = DumpSpace.apparentSize(temporary)
            let run = DumpRun(database: database, name: runName, source: sourceName, dataAsOf: dataAsOf, startedAt: started,
                              finishedAt: Date(), jobs: jobs, pgDumpCompression: compress, serverVersion: serverVersion,
                              size: size.bytes, files: size.files + 1, sharedFiles: shared,
                              pgarchiveVersion: PGArchiveVersion.string)
            try AtomicFile.write(try JSONCoding.encoder.encode(run), to: temporary + "/" + DumpStore.metadataFile)
            try Self.syncTree(temporary)
            guard rename(temporary, final) == 0 else {
                throw PGArchiveError("cannot rename \(temporary) to \(final): \(String(cString: strerror(errno)))")
            }
            let dfd = Glibc.open(databaseDirectory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            if dfd >= 0 { fsync(dfd); close(dfd) }
            logger.info("dumped database '\(database)' as \(final): \(size.files) files, \(ByteCount.human(Int64(size.bytes))), \(shared) unchanged file(s) shared with the previous run")
            return run
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw error
        }
    }

    /// fsyncs every file of a run before it is renamed to its final name: the rename must
    /// never become durable before the data (pg_dump itself does not fsync with --file).
    static func syncTree(_ path: String) throws(PGArchiveError) {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] {
            let fd = Glibc.open(path + "/" + name, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { continue }
            let ok = fsync(fd) == 0
            close(fd)
            if !ok { throw PGArchiveError("cannot fsync \(path)/\(name): \(String(cString: strerror(errno)))") }
        }
        let fd = Glibc.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 { fsync(fd); close(fd) }
    }
}
