import Foundation
import Logging
import Postgres

/// One complete logical dump of one database: `dumps/<db>/<UTC time>/`, a pg_dump directory
/// (toc.dat plus one file per table) with `globals.sql` (pg_dumpall --globals-only of the
/// same run) and this metadata as `pgarchive.dump.json`. pg_restore ignores the two extra
/// files, so the run directory can be handed to pg_restore as it is.
public struct DumpRun: Codable, Sendable, Equatable {
    public var database: String
    /// The run's name: the UTC time the run started, `2026-11-21T08:15:00Z`. All databases
    /// dumped by one `dump create` share it.
    public var name: String
    /// Where the data came from: the snapshot the temporary clone was made of, or `upstream`.
    public var source: String
    /// The moment the data shows. From a clone: the commit time of the last transaction it
    /// replayed (it recovers to the newest WAL in the archive), so every transaction committed
    /// up to then is in the dump. From the upstream: the start of the run.
    public var dataAsOf: Date
    public var startedAt: Date
    public var finishedAt: Date
    public var jobs: Int
    /// pg_dump compressed the table files (gzip); off when btrfs compresses the subvolume,
    /// because btrfs compresses as well and uncompressed files are easier to share.
    public var pgDumpCompression: Bool
    public var serverVersion: String
    /// Bytes of all files (apparent size, before btrfs compression and sharing).
    public var size: UInt64
    public var files: Int
    /// Files found identical to the previous run's and stored as reflinks of them.
    public var sharedFiles: Int
    public var pgarchiveVersion: String

    public var time: Date { DumpStore.parseRunName(name) ?? startedAt }
}

/// The dumps of a container. Layout: `dumps/<escaped db>/<run>/`; a run is written into
/// `dumps/<escaped db>/.incomplete-<run>-<pid>` and renamed when complete, so an
/// interrupted dump never looks complete; the next `dump create` removes such leftovers
/// once their pid is gone. Expired runs are renamed to `.expired-<run>-<pid>` before their
/// files are removed, for the same reason.
public struct DumpStore: Sendable {
    public let layout: ContainerLayout

    public init(layout: ContainerLayout) { self.layout = layout }

    public static let metadataFile = "pgarchive.dump.json"
    public static let globalsFile = "globals.sql"
    /// Inside a temporary clone's data directory: the pid of the `dump create` that made it.
    static let cloneMarkerFile = "pgarchive.dump-clone"
    public static let temporaryClonePrefix = "dump-"

    // MARK: names

    /// The directory name for a database. PostgreSQL allows any character but NUL in a
    /// database name, so names are escaped rather than refused: every byte outside
    /// `A-Z a-z 0-9 - _ . + :` (and a leading `.`) becomes `%XX`. The result is one path
    /// component that never starts with `.`, and `unescape` gives the name back.
    public static func escape(_ database: String) -> String {
        var out = ""
        for (index, byte) in database.utf8.enumerated() {
            let c = Character(Unicode.Scalar(byte))
            let safe = byte < 0x80 && (c.isLetter || c.isNumber || "-_.+:".contains(c)) && !(index == 0 && c == ".")
            out += safe ? String(c) : String(format: "%%%02X", byte)
        }
        return out
    }

    /// The database name of a directory name, or nil for names `escape` never produces.
    public static func unescape(_ directory: String) -> String? {
        guard !directory.isEmpty, !directory.hasPrefix(".") else { return nil }
        var bytes: [UInt8] = []
        var iterator = Array(directory.utf8).makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%") {
                guard let high = iterator.next(), let low = iterator.next(),
                      let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16) else { return nil }
                bytes.append(value)
            } else {
                bytes.append(byte)
            }
        }
        guard let name = String(validating: bytes, as: UTF8.self), escape(name) == directory else { return nil }
        return name
    }

    public static func runName(_ date: Date) -> String { ISO8601.utc(date) }

    /// The time of a run name, nil unless `name` is exactly what `runName` writes.
    public static func parseRunName(_ name: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        formatter.timeZone = TimeZone(identifier: "UTC")
        guard let date = formatter.date(from: name), runName(date) == name else { return nil }
        return date
    }

    public func databaseDirectory(_ database: String) -> String { layout.dumps + "/" + Self.escape(database) }
    public func runDirectory(_ database: String, _ run: String) -> String { databaseDirectory(database) + "/" + run }

    // MARK: listing

    /// Databases that have a directory under dumps/, sorted.
    public func databases() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: layout.dumps)) ?? []
        return names.compactMap(Self.unescape).sorted()
    }

    /// Complete runs of a database, oldest first.
    public func runs(_ database: String) -> [DumpRun] {
        let directory = databaseDirectory(database)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { Self.parseRunName($0) != nil }.compactMap { name in
            guard let data = FileManager.default.contents(atPath: directory + "/" + name + "/" + Self.metadataFile),
                  let run = try? SnapshotStore.decoder.decode(DumpRun.self, from: data) else { return nil }
            return run
        }.sorted { $0.name < $1.name }
    }

    /// Runs of a database, or a clear error when there are none.
    public func requireRuns(_ database: String) throws(PGArchiveError) -> [DumpRun] {
        let all = runs(database)
        if all.isEmpty {
            let known = databases().filter { !runs($0).isEmpty }
            throw PGArchiveError("there are no dumps of database '\(database)'; " + (known.isEmpty
                ? "there are no dumps yet (`pgarchive dump create` makes them)"
                : "dumped databases: \(known.map { "'\($0)'" }.joined(separator: ", "))"))
        }
        return all
    }

    /// Leftovers: `.incomplete-*` and `.expired-*` directories, as paths.
    public func leftovers() -> [String] {
        var result: [String] = []
        for database in (try? FileManager.default.contentsOfDirectory(atPath: layout.dumps)) ?? [] where Self.unescape(database) != nil {
            let directory = layout.dumps + "/" + database
            for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
            where name.hasPrefix(".incomplete-") || name.hasPrefix(".expired-") {
                result.append(directory + "/" + name)
            }
        }
        return result.sorted()
    }

    /// The pid in a leftover's name (`.incomplete-<run>-<pid>`).
    static func leftoverPID(_ path: String) -> pid_t? {
        let name = (path as NSString).lastPathComponent
        return name.split(separator: "-").last.flatMap { pid_t($0) }
    }

    /// Whether `pid` is a live pgarchive (a reused pid of another program does not count).
    static func isLivePGArchive(_ pid: pid_t) -> Bool {
        guard Processes.isAlive(pid), let argv = Processes.commandLine(of: pid) else { return false }
        return argv.first?.hasSuffix("pgarchive") == true
    }

    // MARK: selection and expiry (pure)

    /// The newest run at or before `time` (the newest of all without a time).
    public static func select(_ runs: [DumpRun], at time: Date?, database: String) throws(PGArchiveError) -> DumpRun {
        let sorted = runs.sorted { $0.name < $1.name }
        guard let newest = sorted.last, let oldest = sorted.first else {
            throw PGArchiveError("there are no dumps of database '\(database)'")
        }
        guard let time else { return newest }
        if let run = sorted.last(where: { $0.time <= time }) { return run }
        throw PGArchiveError("there is no dump of database '\(database)' at or before \(ISO8601.utc(time)); the oldest is \(oldest.name)")
    }

    /// The runs to delete: all but the newest `keep`, and those started before `olderThan`;
    /// the newest run of a database is always kept.
    public static func expirePlan(_ runs: [DumpRun], keep: Int, olderThan: Date? = nil) -> [DumpRun] {
        let sorted = runs.sorted { $0.name < $1.name }
        let candidates = sorted.dropLast()
        let beyondCount = Set(sorted.dropLast(max(keep, 1)).map(\.name))
        return candidates.filter { run in
            beyondCount.contains(run.name) || (olderThan.map { run.startedAt < $0 } ?? false)
        }
    }
}

/// Sizes as btrfs sees them.
public enum DumpSpace {
    /// Apparent size and number of regular files under `path`.
    public static func apparentSize(_ path: String) -> (bytes: UInt64, files: Int) {
        var bytes: UInt64 = 0
        var files = 0
        let enumerator = FileManager.default.enumerator(atPath: path)
        while let relative = enumerator?.nextObject() as? String {
            var info = stat()
            if lstat(path + "/" + relative, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG {
                bytes += UInt64(info.st_size)
                files += 1
            }
        }
        return (bytes, files)
    }

    /// `btrfs filesystem du -s --raw`: bytes only this directory's files use (nil when not on
    /// btrfs). Extents shared with another run count for neither: a run identical to the
    /// previous one shows 0, which is the figure that matters here ("what does this run cost").
    public static func exclusive(_ path: String) async -> UInt64? {
        guard let output = try? await ToolCommand(executable: "btrfs", arguments: ["filesystem", "du", "-s", "--raw", path]).run(),
              output.succeeded else { return nil }
        for line in output.standardOutput.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if fields.count >= 3, let exclusive = UInt64(fields[1]) { return exclusive }
        }
        return nil
    }

    /// Replaces each file in `directory` whose content equals a file of `previous` by a
    /// reflink (FICLONE) of that file, so unchanged tables share their extents with the
    /// previous run on btrfs. Candidates are matched by size (the same name first: pg_dump
    /// names table files by dump id, which is stable while the schema is) and then compared
    /// byte by byte. The clone goes into a temporary file that is renamed over the new one,
    /// so a crash leaves either file, both complete. Returns how many files are shared.
    public static func shareUnchangedFiles(in directory: String, previous: String, skip: Set<String> = []) throws(PGArchiveError) -> Int {
        let fm = FileManager.default
        var bySize: [UInt64: [String]] = [:]
        for name in (try? fm.contentsOfDirectory(atPath: previous)) ?? [] where !skip.contains(name) {
            if let size = regularFileSize(previous + "/" + name) { bySize[size, default: []].append(name) }
        }
        var shared = 0
        for name in ((try? fm.contentsOfDirectory(atPath: directory)) ?? []).sorted() where !skip.contains(name) && !name.hasPrefix(".") {
            let path = directory + "/" + name
            guard let size = regularFileSize(path), size > 0, var candidates = bySize[size] else { continue }
            if let same = candidates.firstIndex(of: name) { candidates.swapAt(0, same) }
            guard let match = candidates.first(where: { sameContent(path, previous + "/" + $0) }) else { continue }
            let temporary = directory + "/.share-\(name)"
            try FileCopy.clone(from: previous + "/" + match, to: temporary)
            guard rename(temporary, path) == 0 else {
                let message = String(cString: strerror(errno))
                unlink(temporary)
                throw PGArchiveError("cannot rename \(temporary) to \(path): \(message)")
            }
            shared += 1
        }
        return shared
    }

    static func regularFileSize(_ path: String) -> UInt64? {
        var info = stat()
        guard lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        return UInt64(info.st_size)
    }

    /// Byte-for-byte comparison of two files.
    static func sameContent(_ a: String, _ b: String) -> Bool {
        let fa = open(a, O_RDONLY | O_CLOEXEC)
        guard fa >= 0 else { return false }
        defer { close(fa) }
        let fb = open(b, O_RDONLY | O_CLOEXEC)
        guard fb >= 0 else { return false }
        defer { close(fb) }
        let chunk = 1 << 20
        var bufferA = [UInt8](repeating: 0, count: chunk)
        var bufferB = [UInt8](repeating: 0, count: chunk)
        while true {
            let na = readFully(fa, &bufferA)
            let nb = readFully(fb, &bufferB)
            guard na >= 0, nb >= 0, na == nb else { return false }
            if na == 0 { return true }
            if memcmp(bufferA, bufferB, na) != 0 { return false }
        }
    }

    private static func readFully(_ fd: Int32, _ buffer: inout [UInt8]) -> Int {
        var total = 0
        while total < buffer.count {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress! + total, $0.count - total) }
            if n < 0 { if errno == EINTR { continue }; return -1 }
            if n == 0 { break }
            total += n
        }
        return total
    }
}

extension Container {
    public var dumpStore: DumpStore { DumpStore(layout: layout) }

    /// Parallel pg_dump/pg_restore jobs when not given on the command line.

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
            try AtomicFile.write(try SnapshotStore.encoder.encode(run), to: temporary + "/" + DumpStore.metadataFile)
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
