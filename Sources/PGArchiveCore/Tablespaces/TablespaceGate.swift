import Foundation
import Postgres

/// A `CREATE TABLESPACE … LOCATION '/dir'` record in the WAL, as pg_waldump shows it.
public struct TablespaceCreation: Codable, Sendable, Equatable {
    public var lsn: LSN
    public var oid: UInt32
    public var location: String

    public init(lsn: LSN, oid: UInt32, location: String) {
        self.lsn = lsn
        self.oid = oid
        self.location = location
    }
}

/// The standby stopped before a CREATE TABLESPACE it cannot replay inside standby/.
public struct TablespaceRefusal: Codable, Sendable, Equatable {
    public var segment: String
    public var creation: TablespaceCreation
    public var at: Date

    /// The sentence `container status` and `check` show (CRITICAL).
    public var message: String {
        "the upstream created tablespace \(creation.oid) at \(creation.location) (WAL \(creation.lsn), segment \(segment)); replaying it would put its files outside the container, so the standby stopped before it: run `pgarchive container resync` (a new base backup that maps every tablespace into standby/; snapshots taken before stay restorable to targets before \(creation.lsn))"
    }
}

/// The gate in `wal fetch`: replaying `CREATE TABLESPACE … LOCATION '/dir'` makes PostgreSQL
/// write that tablespace into `/dir` on this host (the upstream's own directory, when both
/// run on one host) and link `pg_tblspc/OID` to it, outside the standby's or clone's
/// subvolume. A segment holding such a record is never handed out whole to a data directory
/// that would replay it (see `enforce`: cut off before the record, or exit 126). Each segment
/// is scanned once with pg_waldump (together with the segment before, so a record that
/// begins there and ends in this one is seen); the result is cached in run/tablespace-scan/.
public struct TablespaceGate {
    public var layout: ContainerLayout
    public var binaries: PostgresBinaries

    public init(layout: ContainerLayout, binaries: PostgresBinaries) {
        self.layout = layout
        self.binaries = binaries
    }

    var cacheDirectory: String { layout.run + "/tablespace-scan" }
    public static func refusalFile(_ layout: ContainerLayout) -> String { layout.run + "/tablespace-refused.json" }

    /// False when `segment` needs no look (a history file, or a segment already scanned and
    /// found free of CREATE TABLESPACE): `wal fetch` then skips locating the binaries.
    public static func needsScan(layout: ContainerLayout, segment: String) -> Bool {
        guard let name = WALFileName.parse(segment), !name.isHistory else { return false }
        guard let data = FileManager.default.contents(atPath: layout.run + "/tablespace-scan/" + name.baseName),
              let cached = try? JSONDecoder().decode([TablespaceCreation].self, from: data) else { return true }
        return !cached.isEmpty
    }

    /// The recorded refusal of the standby, if any (cleared by `container resync`).
    public static func refusal(layout: ContainerLayout) -> TablespaceRefusal? {
        guard let data = FileManager.default.contents(atPath: refusalFile(layout)) else { return nil }
        return try? SnapshotStore.decoder.decode(TablespaceRefusal.self, from: data)
    }

    public static func clearRefusal(layout: ContainerLayout) { unlink(refusalFile(layout)) }

    /// The CREATE TABLESPACE records the requester at `dataDirectory` would replay from
    /// `segment` (already copied to `served`): those with an absolute location outside it,
    /// at or after where its recovery starts.
    public func blocking(segment: String, served: String, cacheable: Bool, dataDirectory: String) async throws -> [TablespaceCreation] {
        guard let name = WALFileName.parse(segment), !name.isHistory else { return [] }
        let creations = try await scan(name, served: served, cacheable: cacheable).filter {
            $0.location.hasPrefix("/") && !$0.location.hasPrefix(dataDirectory + "/")
        }
        guard !creations.isEmpty else { return [] }
        // Records before the REDO point the requester starts from are never replayed (e.g. a
        // snapshot taken after the resync that adopted the tablespace).
        let start = (try? await ControlData.read(dataDirectory: dataDirectory, binaries: binaries))?.redoLocation ?? .zero
        return creations.filter { $0.lsn >= start }
    }

    /// Records the standby's refusal (for status and check); true if it is new.
    @discardableResult
    public func recordRefusal(segment: String, _ creation: TablespaceCreation) -> Bool {
        let refusal = TablespaceRefusal(segment: segment, creation: creation, at: Date())
        guard Self.refusal(layout: layout)?.creation != creation, let data = try? SnapshotStore.encoder.encode(refusal) else { return false }
        try? AtomicFile.write(data, to: Self.refusalFile(layout))
        return true
    }

    /// `wal fetch` after it copied `segment` from `source` to `destination`. If the requester,
    /// whose data directory is the working directory PostgreSQL runs restore_command in, would
    /// replay a CREATE TABLESPACE from it, the segment is served cut off just before that
    /// record (zeros from there on, which recovery reads as the end of the WAL), so:
    /// - the standby replays up to the record and waits there, still serving reads; the
    ///   refusal is recorded for `status` and `check` (CRITICAL, remedy `container resync`);
    /// - a clone with a target before the record reaches it exactly; one with a target after it
    ///   fails with "recovery ended before configured recovery target was reached", and this
    ///   message in its log says why;
    /// - a clone recovering to the latest WAL (no target that could tell a short recovery from
    ///   a complete one) gets exit 126, which aborts its recovery.
    public static func enforce(layout: ContainerLayout, binaries: PostgresBinaries, segment: String,
                               destination: String, source: String, isClone: Bool) async throws(PGArchiveError) {
        let gate = TablespaceGate(layout: layout, binaries: binaries)
        let dataDirectory = Tablespaces.realPath(FileManager.default.currentDirectoryPath) ?? FileManager.default.currentDirectoryPath
        let blocking: [TablespaceCreation]
        do {
            blocking = try await gate.blocking(segment: segment, served: destination, cacheable: !source.hasSuffix(".partial"),
                                               dataDirectory: dataDirectory)
        } catch {
            unlink(destination)
            throw PGArchiveError("\(error)", exitCode: 126)
        }
        guard let creation = blocking.min(by: { $0.lsn < $1.lsn }) else { return }
        let what = "WAL segment \(segment) holds CREATE TABLESPACE \(creation.oid) LOCATION '\(creation.location)' at \(creation.lsn); replaying it would write outside \(dataDirectory)"
        if isClone {
            let metadata = FileManager.default.contents(atPath: dataDirectory + "/" + CloneStore.metadataFile)
                .flatMap { try? SnapshotStore.decoder.decode(CloneMetadata.self, from: $0) }
            guard let target = metadata?.target, target != .latest else {
                unlink(destination)
                throw PGArchiveError("\(what), so recovery stops here. Choose a target before \(creation.lsn), or a snapshot taken after `pgarchive container resync` adopted the tablespace", exitCode: 126)
            }
            try cut(destination, segment: segment, before: creation.lsn)
            FileHandle.standardError.write(Data("pgarchive wal fetch: \(what), so the WAL served ends just before it: a target after \(creation.lsn) cannot be reached from this snapshot; use one taken after `pgarchive container resync`\n".utf8))
            return
        }
        try cut(destination, segment: segment, before: creation.lsn)
        let refusal = TablespaceRefusal(segment: segment, creation: creation, at: Date())
        if gate.recordRefusal(segment: segment, creation) {
            FileHandle.standardError.write(Data("pgarchive wal fetch: \(refusal.message)\n".utf8))
        }
    }

    /// Overwrites `path` (a copy of `segment`) with zeros from `lsn` on (from its start if
    /// `lsn` lies in an earlier segment).
    static func cut(_ path: String, segment: String, before lsn: LSN) throws(PGArchiveError) {
        var info = stat()
        guard stat(path, &info) == 0, let start = WALFileName.parse(segment)?.startLSN(segmentSize: UInt64(info.st_size)) else {
            throw PGArchiveError("cannot cut \(path) before \(lsn): \(String(cString: strerror(errno)))", exitCode: 126)
        }
        let offset = lsn.value > start.value ? Int(lsn.value - start.value) : 0
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw PGArchiveError("cannot open \(path): \(String(cString: strerror(errno)))", exitCode: 126) }
        defer { close(fd) }
        let zeros = [UInt8](repeating: 0, count: Int(info.st_size) - offset)
        let written = zeros.withUnsafeBytes { pwrite(fd, $0.baseAddress, zeros.count, off_t(offset)) }
        guard written == zeros.count, fsync(fd) == 0 else {
            unlink(path)
            throw PGArchiveError("cannot cut \(path) before \(lsn): \(String(cString: strerror(errno)))", exitCode: 126)
        }
    }

    /// The CREATE TABLESPACE records ending in `name` (cached).
    func scan(_ name: WALFileName, served: String, cacheable: Bool) async throws -> [TablespaceCreation] {
        let cache = cacheDirectory + "/" + name.baseName
        if let data = FileManager.default.contents(atPath: cache),
           let cached = try? JSONDecoder().decode([TablespaceCreation].self, from: data) {
            return cached
        }
        var info = stat()
        guard stat(served, &info) == 0, let number = name.segmentNumber(segmentSize: UInt64(info.st_size)) else {
            throw PGArchiveError("cannot scan \(served) for CREATE TABLESPACE: \(String(cString: strerror(errno)))")
        }
        let segmentSize = UInt64(info.st_size)
        mkdir(cacheDirectory, 0o700)
        let work = cacheDirectory + "/.scan-\(getpid())"
        try? FileManager.default.removeItem(atPath: work)
        guard mkdir(work, 0o700) == 0 else { throw PGArchiveError("cannot create \(work): \(String(cString: strerror(errno)))") }
        defer { try? FileManager.default.removeItem(atPath: work) }
        let absolute = served.hasPrefix("/") ? served : FileManager.default.currentDirectoryPath + "/" + served
        guard symlink(absolute, work + "/" + name.baseName) == 0 else {
            throw PGArchiveError("cannot link \(absolute) for pg_waldump: \(String(cString: strerror(errno)))")
        }
        var first = name.baseName
        if number > 0 {
            let previous = WALFileName(timeline: name.timeline, segmentNumber: number - 1, segmentSize: segmentSize).baseName
            if (try? WALArchive(directory: layout.walArchive, segmentSize: segmentSize).fetch(previous, to: work + "/" + previous, partialOK: false)) != nil {
                first = previous
            }
        }
        let output: CommandOutput
        do {
            output = try await ToolCommand(executable: binaries.path("pg_waldump"),
                                           arguments: ["--rmgr=Tablespace", "--path=" + work, first, name.baseName]).run()
        } catch {
            throw PGArchiveError("cannot run pg_waldump to scan \(name.baseName) for CREATE TABLESPACE: \(error)")
        }
        // pg_waldump stops with an error where the valid WAL of the range ends (the end of a
        // partial segment, a record running into the next segment): that is not a failure.
        if output.exitCode != 0 {
            let fatal = output.standardError.split(separator: "\n").filter { $0.contains("fatal") || $0.contains("error") }
            let expected = fatal.allSatisfy { $0.contains("error in WAL record") || $0.contains("could not find file") }
            guard expected else {
                throw PGArchiveError("pg_waldump could not scan \(name.baseName) for CREATE TABLESPACE: \(output.standardError.trimmingCharacters(in: .whitespacesAndNewlines))")
            }
        }
        // A record starting in the last page of the previous segment may end in this one.
        let from = LSN(number * segmentSize - (number > 0 && first != name.baseName ? 8192 : 0))
        let creations = Self.parse(output.standardOutput).filter { $0.lsn >= from }
        // A partial segment served to a clone may still grow: scan it again next time.
        if cacheable, let data = try? JSONEncoder().encode(creations) { try? AtomicFile.write(data, to: cache) }
        return creations
    }

    /// The CREATE records in pg_waldump output, e.g.
    /// `rmgr: Tablespace len (rec/tot): 38/38, tx: 735, lsn: 0/03000A28, prev 0/030009F0, desc: CREATE 16388 "/srv/ts"`.
    public static func parse(_ text: String) -> [TablespaceCreation] {
        var result: [TablespaceCreation] = []
        for line in text.split(separator: "\n") where line.contains("rmgr: Tablespace") {
            guard let lsnRange = line.range(of: "lsn: "), let descRange = line.range(of: "desc: CREATE ") else { continue }
            let lsnText = line[lsnRange.upperBound...].prefix { $0 != "," }
            let desc = line[descRange.upperBound...]
            let oidText = desc.prefix { $0.isNumber }
            guard let lsn = LSN(String(lsnText)), let oid = UInt32(oidText),
                  let open = desc.firstIndex(of: "\""), let close = desc.lastIndex(of: "\""), open < close else { continue }
            result.append(TablespaceCreation(lsn: lsn, oid: oid, location: String(desc[desc.index(after: open)..<close])))
        }
        return result
    }
}
