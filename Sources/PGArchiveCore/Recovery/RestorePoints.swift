import Foundation
import Postgres

/// A named restore point created through pgarchive, so clones can find the right
/// snapshot for it (PostgreSQL itself only knows the name once it replays the record).
public struct RestorePoint: Codable, Sendable, Equatable {
    public var name: String
    public var lsn: LSN
    public var createdAt: Date
}

/// `restore_points.json` in the container directory.
public struct RestorePointStore: Sendable {
    public let path: String

    public init(layout: ContainerLayout) { path = layout.root + "/restore_points.json" }

    public func list() throws(PGArchiveError) -> [RestorePoint] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        do { return try SnapshotStore.decoder.decode([RestorePoint].self, from: data) } catch {
            throw PGArchiveError("cannot read \(path): \(error)")
        }
    }

    public func find(_ name: String) throws(PGArchiveError) -> RestorePoint? {
        try list().first { $0.name == name }
    }

    func append(_ point: RestorePoint) throws(PGArchiveError) {
        var all = try list()
        all.append(point)
        do { try AtomicFile.write(try SnapshotStore.encoder.encode(all), to: path) } catch let error as PGArchiveError { throw error } catch {
            throw PGArchiveError("cannot write \(path): \(error)")
        }
    }
}

extension Container {
    public var restorePoints: RestorePointStore { RestorePointStore(layout: layout) }

    /// Creates a restore point on the upstream and records its LSN and time; the caller holds
    /// the restore points lock.
    /// A name `restorepoint create` accepts; checked before its lock is waited for, too.
    public static func validateRestorePointName(_ name: String) throws {
        try ObjectName.validate(name, kind: "restore point")
        guard name.utf8.count < 64 else { throw PGArchiveError("restore point names are limited to 63 bytes by PostgreSQL") }
    }

    public func createRestorePoint(_ name: String) throws -> RestorePoint {
        try Self.validateRestorePointName(name)
        // Runs under the restore points lock (ContainerOperation.restorePointCreate): two
        // creates at once would drop a point or make a name twice.
        if try restorePoints.find(name) != nil {
            throw PGArchiveError("restore point '\(name)' exists already; recovery would stop at the first one of that name, so choose another")
        }
        let connection = try upstreamConnection()
        defer { connection.close() }
        let row = try connection.query("SELECT pg_create_restore_point($1)::text AS lsn, now() AS at", [name]).singleRow()
        let lsn = try row.lsn("lsn")
        let point = RestorePoint(name: name, lsn: lsn, createdAt: Date())
        try restorePoints.append(point)
        logger.info("created restore point \(name) at \(lsn) on the upstream")
        return point
    }
}
