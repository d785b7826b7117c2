import Foundation
import Postgres

/// One tablespace of the upstream as `container init`/`resync` took it: its OID (the name of
/// its `pg_tblspc/OID` entry), its name, and the directory it has on the upstream (kept so
/// `dump create` can write the upstream's LOCATION into globals.sql and `restore --to` can
/// name it).
public struct TablespaceRecord: Codable, Sendable, Equatable {
    public var oid: UInt32
    public var name: String
    public var upstreamLocation: String

    public init(oid: UInt32, name: String, upstreamLocation: String) {
        self.oid = oid
        self.name = name
        self.upstreamLocation = upstreamLocation
    }
}

/// Tablespaces inside a data directory. pg_basebackup writes each tablespace to its absolute
/// path on the upstream, so a btrfs snapshot of `standby/` would hold only the symlink and
/// every snapshot and clone would share (and write into) the same directory elsewhere.
/// pgarchive maps each tablespace into `DATADIR/pgarchive_tablespaces/OID` and points
/// `pg_tblspc/OID` there with a *relative* link (`../pgarchive_tablespaces/OID`), so every
/// snapshot and clone of the data directory resolves its tablespaces inside itself.
public enum Tablespaces {
    /// The directory inside a data directory that holds its tablespaces, one per OID.
    public static let directoryName = "pgarchive_tablespaces"
    /// The file inside a data directory listing its tablespaces (JSON [TablespaceRecord]).
    public static let mapFile = "pgarchive.tablespaces.json"

    /// The upstream's user tablespaces (not pg_default/pg_global), ordered by OID.
    public static func list(connection: Connection) throws -> [TablespaceRecord] {
        let result = try connection.query(
            "SELECT oid::text AS oid, spcname, pg_tablespace_location(oid) AS location FROM pg_tablespace WHERE spcname NOT IN ('pg_default', 'pg_global') ORDER BY oid")
        return try result.rows.map { row in
            TablespaceRecord(oid: UInt32(try row.string("oid")) ?? 0, name: try row.string("spcname"),
                                    upstreamLocation: try row.string("location"))
        }
    }

    /// `--tablespace-mapping` for pg_basebackup: each tablespace with an absolute location goes
    /// to `dataDirectory/pgarchive_tablespaces/OID` (in-place tablespaces already live in
    /// pg_tblspc/ and travel with the data directory).
    public static func mappings(_ tablespaces: [TablespaceRecord], dataDirectory: String) -> [PgBaseBackup.TablespaceMapping] {
        tablespaces.filter { $0.upstreamLocation.hasPrefix("/") }.map {
            PgBaseBackup.TablespaceMapping(old: $0.upstreamLocation, new: dataDirectory + "/" + directoryName + "/" + String($0.oid))
        }
    }

    /// After a base backup with `mappings`: replaces each absolute link
    /// `pg_tblspc/OID -> DATADIR/pgarchive_tablespaces/OID` by the relative
    /// `../pgarchive_tablespaces/OID`, records the tablespaces in `pgarchive.tablespaces.json`,
    /// and fails (naming each) if any entry of pg_tblspc still resolves outside the directory.
    public static func adopt(dataDirectory: String, tablespaces: [TablespaceRecord]) throws {
        let fm = FileManager.default
        let tblspc = dataDirectory + "/pg_tblspc"
        for name in ((try? fm.contentsOfDirectory(atPath: tblspc)) ?? []).sorted() {
            let link = tblspc + "/" + name
            guard let target = try? fm.destinationOfSymbolicLink(atPath: link),
                  target == dataDirectory + "/" + directoryName + "/" + name else { continue }
            let relative = "../" + directoryName + "/" + name
            let temporary = tblspc + "/." + name + ".relative"
            unlink(temporary)
            guard symlink(relative, temporary) == 0, rename(temporary, link) == 0 else {
                throw PGArchiveError("cannot point \(link) at \(relative): \(String(cString: strerror(errno)))")
            }
        }
        if !tablespaces.isEmpty || fm.fileExists(atPath: dataDirectory + "/" + mapFile) {
            try writeMap(tablespaces, dataDirectory: dataDirectory)
        }
        let problems = self.problems(dataDirectory: dataDirectory, what: "the new standby")
        guard problems.isEmpty else {
            throw PGArchiveError(problems.joined(separator: "; ") + ". The base backup did not map every tablespace (was one created during it?): run it again")
        }
    }

    public static func writeMap(_ tablespaces: [TablespaceRecord], dataDirectory: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(tablespaces), to: dataDirectory + "/" + mapFile)
    }

    /// The tablespaces recorded in a data directory (a standby, snapshot, clone or restore).
    public static func readMap(dataDirectory: String) -> [TablespaceRecord] {
        guard let data = FileManager.default.contents(atPath: dataDirectory + "/" + mapFile) else { return [] }
        return (try? JSONDecoder().decode([TablespaceRecord].self, from: data)) ?? []
    }

    /// One entry of `pg_tblspc/`: where it points and whether that lies inside the data directory.
    public struct Entry: Sendable, Equatable {
        public var oid: String
        /// The link text, or "" for an in-place directory.
        public var link: String
        /// The resolved absolute path (symlinks followed), or the unresolved one if it is missing.
        public var resolved: String
        public var exists: Bool
        public var inside: Bool
    }

    /// Every entry of `dataDirectory/pg_tblspc`, resolved.
    public static func entries(dataDirectory: String) -> [Entry] {
        let fm = FileManager.default
        let tblspc = dataDirectory + "/pg_tblspc"
        let root = realPath(dataDirectory) ?? dataDirectory
        var result: [Entry] = []
        for name in ((try? fm.contentsOfDirectory(atPath: tblspc)) ?? []).sorted() where !name.hasPrefix(".") {
            let path = tblspc + "/" + name
            let link = (try? fm.destinationOfSymbolicLink(atPath: path)) ?? ""
            let unresolved = link.isEmpty ? path : (link.hasPrefix("/") ? link : ((tblspc + "/" + link) as NSString).standardizingPath)
            let resolved = realPath(path)
            let final = resolved ?? unresolved
            result.append(Entry(oid: name, link: link, resolved: final, exists: resolved != nil,
                                inside: resolved != nil && final.hasPrefix(root + "/")))
        }
        return result
    }

    /// One line per pg_tblspc entry of `dataDirectory` that resolves outside it (or nowhere).
    public static func problems(dataDirectory: String, what: String) -> [String] {
        entries(dataDirectory: dataDirectory).filter { !$0.inside }.map { entry in
            entry.exists
                ? "tablespace \(entry.oid) of \(what) (\(dataDirectory)/pg_tblspc/\(entry.oid)) resolves to \(entry.resolved), outside \(dataDirectory): every copy would share it"
                : "tablespace \(entry.oid) of \(what) (\(dataDirectory)/pg_tblspc/\(entry.oid) -> \(entry.link)) does not resolve to an existing directory"
        }
    }

    /// Bytes used below `path` (files only, symlinks not followed).
    public static func size(of path: String) -> Int64 {
        guard let walker = FileManager.default.enumerator(atPath: path) else { return 0 }
        var total: Int64 = 0
        while let item = walker.nextObject() as? String {
            if let attributes = walker.fileAttributes, attributes[.type] as? FileAttributeType == .typeRegular {
                total += (attributes[.size] as? NSNumber)?.int64Value ?? 0
            }
            _ = item
        }
        return total
    }

    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}

extension Container {
    /// Every pg_tblspc entry of the standby, each snapshot and each clone that resolves outside
    /// its own subvolume (`verify` reports each as a problem).
    public func tablespaceProblems() -> [String] {
        var problems = Tablespaces.problems(dataDirectory: layout.standby, what: "the standby")
        let fm = FileManager.default
        for name in ((try? fm.contentsOfDirectory(atPath: layout.snapshots)) ?? []).sorted() where !name.hasPrefix(".") {
            problems += Tablespaces.problems(dataDirectory: layout.snapshot(name), what: "snapshot \(name)")
        }
        for name in ((try? fm.contentsOfDirectory(atPath: layout.clones)) ?? []).sorted() where !name.hasPrefix(".") {
            problems += Tablespaces.problems(dataDirectory: layout.clone(name), what: "clone \(name)")
        }
        return problems
    }

    /// Refreshes `standby/pgarchive.tablespaces.json` from the running standby's catalog (names
    /// may have changed by ALTER TABLESPACE … RENAME), keeping the upstream locations recorded.
    func refreshTablespaceMap(connection: Connection) {
        guard let current = try? Tablespaces.list(connection: connection) else { return }
        let recorded = Dictionary(Tablespaces.readMap(dataDirectory: layout.standby).map { ($0.oid, $0) }, uniquingKeysWith: { a, _ in a })
        let merged = current.map { ts in
            TablespaceRecord(oid: ts.oid, name: ts.name, upstreamLocation: recorded[ts.oid]?.upstreamLocation ?? ts.upstreamLocation)
        }
        if merged != Tablespaces.readMap(dataDirectory: layout.standby) {
            try? Tablespaces.writeMap(merged, dataDirectory: layout.standby)
        }
    }
}

extension Container {
    /// `verify`: each pg_tblspc entry of the standby, every snapshot and every clone must
    /// resolve inside its own subvolume.
    func verifyTablespaces(_ report: inout VerifyReport) {
        let problems = tablespaceProblems()
        report.problems += problems.map { $0 + "; `pgarchive container resync` takes a new base backup with every tablespace inside standby/" }
        let count = Tablespaces.entries(dataDirectory: layout.standby).count
        report.checks.append("tablespaces: " + (problems.isEmpty
            ? "\(count) in the standby; every pg_tblspc entry of the standby, the snapshots and the clones resolves inside its own subvolume"
            : "\(problems.count) pg_tblspc entr\(problems.count == 1 ? "y resolves" : "ies resolve") outside its subvolume"))
    }
}

extension Tablespaces {
    /// pg_dumpall of a clone writes `LOCATION '../pgarchive_tablespaces/OID'` (what
    /// pg_tablespace_location() reads from the relative link), which CREATE TABLESPACE refuses;
    /// globals.sql gets the upstream's own location back.
    static func restoreUpstreamLocations(globals path: String, _ records: [TablespaceRecord]) throws {
        guard !records.isEmpty, var text = try? String(contentsOfFile: path, encoding: .utf8) else { return }
        var changed = false
        for record in records where record.upstreamLocation.hasPrefix("/") {
            let relative = "LOCATION '../\(directoryName)/\(record.oid)'"
            guard text.contains(relative) else { continue }
            text = text.replacingOccurrences(of: relative, with: "LOCATION '\(record.upstreamLocation.replacingOccurrences(of: "'", with: "''"))'")
            changed = true
        }
        if changed { try AtomicFile.write(text, to: path) }
    }
}
