import Foundation
import Logging
import Postgres

/// The upstream a container archives is the cluster `container init` (or the last
/// `container resync`) recorded in pgarchive.conf: `upstream_version` (its major version)
/// and `system_identifier` (pg_control's database system identifier). A major upgrade of
/// the upstream (pg_upgrade, or a new cluster restored from pg_dump) gives a new major
/// version and a new system identifier; a cluster re-created on the same version, a new
/// system identifier. Either way the WAL it writes belongs to another database system: the
/// standby cannot replay it, and the old version's pg_receivewal must not stream it into the
/// old archive. So pgarchive stops the receiver, records the change in
/// `run/upstream-changed.json` (status, check and metrics report it, and neither the
/// watchdog nor `container start` restarts the receiver), and `container resync --pg-bindir`
/// starts over on the new cluster while the snapshots from before stay restorable with the
/// old version's tools (`Container.binaries(forDataDirectory:)`).
public struct UpstreamChange: Codable, Sendable, Equatable {
    public var detectedAt: Date
    /// What the container recorded at init or the last resync.
    public var recordedMajorVersion: Int
    public var recordedSystemIdentifier: String
    /// What the upstream says now.
    public var upstreamMajorVersion: Int
    public var upstreamServerVersion: String
    public var upstreamSystemIdentifier: String
    /// The container's directory, for the command in `remedy`.
    public var container: String

    /// The upstream now runs another major version (pg_upgrade, or a dump restored into a
    /// cluster of a newer version).
    public var isMajorUpgrade: Bool { upstreamMajorVersion != recordedMajorVersion }

    /// The command that brings the container onto the new upstream.
    public var remedy: String {
        if isMajorUpgrade {
            return "pgarchive container resync -C \(container) --pg-bindir <PostgreSQL \(upstreamMajorVersion) bin directory>"
        }
        return "pgarchive container retire -C \(container), then `pgarchive container init` a new container for the new cluster"
    }

    /// One line for status, check, the watchdog and `container start`.
    public var message: String {
        let now = "the upstream now runs PostgreSQL \(upstreamServerVersion) with system identifier \(upstreamSystemIdentifier)"
        let was = "this container archives PostgreSQL \(recordedMajorVersion) with system identifier \(recordedSystemIdentifier.isEmpty ? "?" : recordedSystemIdentifier)"
        let what = isMajorUpgrade ? "the upstream was upgraded to a new major version (pg_upgrade, or a dump restored into a new cluster)"
            : "the upstream is another database system (re-created, or restored from a dump)"
        return "\(now), \(was): \(what). pg_receivewal is stopped and not restarted, so no WAL of the new cluster lands in this archive; the snapshots and WAL from before stay restorable with PostgreSQL \(recordedMajorVersion)'s tools. Run: \(remedy)"
    }

    /// nil when the upstream is the recorded cluster (or nothing was recorded).
    public static func compare(recordedMajorVersion: Int, recordedSystemIdentifier: String, upstreamMajorVersion: Int,
                               upstreamServerVersion: String, upstreamSystemIdentifier: String, container: String,
                               now: Date = Date()) -> UpstreamChange? {
        let versionChanged = recordedMajorVersion != 0 && upstreamMajorVersion != recordedMajorVersion
        let identifierChanged = !recordedSystemIdentifier.isEmpty && upstreamSystemIdentifier != recordedSystemIdentifier
        guard versionChanged || identifierChanged else { return nil }
        return UpstreamChange(detectedAt: now, recordedMajorVersion: recordedMajorVersion, recordedSystemIdentifier: recordedSystemIdentifier,
                              upstreamMajorVersion: upstreamMajorVersion, upstreamServerVersion: upstreamServerVersion,
                              upstreamSystemIdentifier: upstreamSystemIdentifier, container: container)
    }
}

extension Container {
    var upstreamChangeFile: String { layout.run + "/upstream-changed.json" }

    /// The change recorded by an earlier detection (cleared by `container resync`).
    public func recordedUpstreamChange() -> UpstreamChange? {
        guard let data = FileManager.default.contents(atPath: upstreamChangeFile) else { return nil }
        return try? SnapshotStore.decoder.decode(UpstreamChange.self, from: data)
    }

    /// Compares the upstream behind `connection` with what the container recorded. The
    /// version is `server_version_num` (as libpq reports it), the identifier that of
    /// `pg_control_system()` (the same one IDENTIFY_SYSTEM reports to pg_receivewal).
    public func upstreamChange(connection: Connection) throws -> UpstreamChange? {
        let shown = (try? connection.query("SHOW server_version").rows.first?[0]) ?? nil
        let serverVersion = shown ?? String(connection.serverMajorVersion)
        return UpstreamChange.compare(recordedMajorVersion: config.upstreamVersion, recordedSystemIdentifier: config.systemIdentifier,
                                      upstreamMajorVersion: connection.serverMajorVersion,
                                      upstreamServerVersion: serverVersion.split(separator: " ").first.map(String.init) ?? serverVersion,
                                      upstreamSystemIdentifier: try connection.systemIdentifier(), container: layout.root)
    }

    /// The watchdog's and `container start`'s guard: when the upstream is not the recorded
    /// cluster any more (or was found not to be before), records the change, stops
    /// pg_receivewal and returns the change; nil when all is as recorded. An unreachable
    /// upstream is nil here (the recorded change, if any, still counts).
    @discardableResult
    public func stopReceiverIfUpstreamChanged(connection: Connection?) -> UpstreamChange? {
        var change = recordedUpstreamChange()
        // `try?` would flatten "no change" and "could not compare" into one nil.
        var comparison: UpstreamChange?? = nil
        if let connection { do { comparison = .some(try upstreamChange(connection: connection)) } catch {} }
        if let comparison {
            if let found = comparison {
                if change?.upstreamSystemIdentifier != found.upstreamSystemIdentifier || change?.upstreamMajorVersion != found.upstreamMajorVersion {
                    change = found
                    if let data = try? SnapshotStore.encoder.encode(found) { try? AtomicFile.write(data, to: upstreamChangeFile) }
                    logger.error("\(found.message)")
                }
            } else if change != nil {
                // The recorded cluster is back (an upgrade with pg_upgrade --copy rolled back).
                logger.notice("the upstream is the recorded cluster again (system identifier \(config.systemIdentifier)); forgetting the change recorded at \(ISO8601.utc(change!.detectedAt))")
                clearUpstreamChange()
                change = nil
            }
        }
        guard let change else { return nil }
        if receiver.state().isRunning { receiver.stop(logger: logger) }
        return change
    }

    /// Forgets a recorded change (the resync onto the new cluster is done).
    func clearUpstreamChange() { unlink(upstreamChangeFile) }

    /// The major version in a data directory's `PG_VERSION`.
    static func majorVersion(dataDirectory: String) -> Int? {
        (try? String(contentsOfFile: dataDirectory + "/PG_VERSION", encoding: .utf8)).flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    /// A data directory (a snapshot, a clone) of an older major version than the upstream's
    /// now: it belongs to the cluster from before a major upgrade, whose system identifier
    /// was another.
    func isFromBeforeAMajorUpgrade(_ dataDirectory: String) -> Bool {
        guard let major = Self.majorVersion(dataDirectory: dataDirectory), config.upstreamVersion != 0 else { return false }
        return major < config.upstreamVersion
    }

    /// The programs for the PostgreSQL data directory `dataDirectory` (a clone, a snapshot, a
    /// restored directory): the container's own for its current major version, else, for a
    /// data directory from before a major upgrade of the upstream (its `PG_VERSION` names
    /// the older version), those that took the newest snapshot of that version (recorded in
    /// its metadata), else those found for that version as for any container
    /// (`PostgresBinaries.locate`).
    public func binaries(forDataDirectory dataDirectory: String) async throws -> PostgresBinaries {
        guard let major = Self.majorVersion(dataDirectory: dataDirectory), config.upstreamVersion != 0, major != config.upstreamVersion else {
            return try await binaries()
        }
        let recorded = ((try? snapshots.list()) ?? []).reversed()
            .first { $0.pgMajorVersion == major && $0.pgBindir.map { FileManager.default.isExecutableFile(atPath: $0 + "/pg_ctl") } == true }?.pgBindir
        do {
            return try await PostgresBinaries.locate(majorVersion: major, explicitBindir: recorded)
        } catch {
            throw PGArchiveError("\(dataDirectory) is a PostgreSQL \(major) data directory (from before the upstream's upgrade to PostgreSQL \(config.upstreamVersion)) and needs PostgreSQL \(major)'s programs: \(error)")
        }
    }
}
