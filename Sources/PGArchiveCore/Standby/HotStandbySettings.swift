import Foundation
import Logging
import Postgres

/// A hot standby must run with max_connections, max_worker_processes, max_wal_senders,
/// max_prepared_transactions and max_locks_per_transaction at least as high as the upstream
/// had them when it wrote the WAL being replayed. When the upstream raises one (and
/// restarts, which writes a parameter-change record), a standby with the old values pauses
/// replay ("insufficient parameter settings") until it is restarted with higher ones, and so
/// does every clone that replays past that record. `pgarchive.upstream.conf` in the data
/// directory holds the values pgarchive runs a server with; this file keeps them at least as
/// high as the newest values known: the upstream's current ones, and those the server's own
/// `pg_control` records (PostgreSQL writes there what the last replayed record demanded).
public enum HotStandbySettings {
    /// pg_controldata's label for each parameter.
    public static let controlDataLabels: [String: String] = [
        "max_connections": "max_connections setting",
        "max_worker_processes": "max_worker_processes setting",
        "max_wal_senders": "max_wal_senders setting",
        "max_prepared_transactions": "max_prepared_xacts setting",
        "max_locks_per_transaction": "max_locks_per_xact setting",
    ]

    /// The parameters as pg_controldata reports them (`ControlData.fields`).
    public static func fromControlData(_ fields: [String: String]) -> [String: Int] {
        var values: [String: Int] = [:]
        for (key, label) in controlDataLabels { if let v = fields[label].flatMap({ Int($0.trimmingCharacters(in: .whitespaces)) }) { values[key] = v } }
        return values
    }

    /// The highest value of each parameter over all sources (pure).
    public static func merged(_ sources: [[String: Int]]) -> [String: Int] {
        var result: [String: Int] = [:]
        for source in sources {
            for (key, value) in source where ServerConfiguration.hotStandbyParameters.contains(key) {
                result[key] = max(result[key] ?? value, value)
            }
        }
        return result
    }

    /// The parameters whose `required` value is higher than `current` (absent counts as
    /// lower), as "key from → to" descriptions, sorted; empty when nothing must change.
    public static func raised(current: [String: Int], required: [String: Int]) -> [String] {
        required.keys.sorted().compactMap { key in
            let now = current[key]
            guard let needed = required[key], now.map({ needed > $0 }) ?? true else { return nil }
            return "\(key) \(now.map(String.init) ?? "unset") → \(needed)"
        }
    }

    /// Reads a `pgarchive.upstream.conf` (missing: empty).
    public static func read(_ path: String) throws(PGArchiveError) -> [String: Int] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [:] }
        var values: [String: Int] = [:]
        for entry in try ConfigFile.parse(text, file: path) { if let v = Int(entry.value) { values[entry.key] = v } }
        return values
    }

    public static func write(_ values: [String: Int], to path: String) throws(PGArchiveError) {
        var text = "# The upstream's settings a hot standby must at least match (pgarchive).\n"
        for key in values.keys.sorted() { text += "\(key) = \(ConfigFile.quote(String(values[key]!)))\n" }
        try AtomicFile.write(text, to: path)
    }

    /// The upstream's current values (nil when it cannot be asked).
    static func upstreamValues(_ container: Container, connectTimeout: Int) -> [String: Int]? {
        guard let connection = try? container.upstreamConnection(connectTimeout: connectTimeout) else { return nil }
        defer { connection.close() }
        guard let rows = try? connection.query("SELECT name, setting FROM pg_settings WHERE name = ANY($1::text[])",
                                               ["{" + ServerConfiguration.hotStandbyParameters.joined(separator: ",") + "}"]).rows else { return nil }
        var values: [String: Int] = [:]
        for row in rows { if let k = row[0], let v = row[1].flatMap({ Int($0) }) { values[k] = v } }
        return values
    }

    /// pg_control's values of a data directory (nil when pg_controldata cannot read it).
    static func controlValues(_ dataDirectory: String, binaries: PostgresBinaries) async -> [String: Int]? {
        guard let control = try? await ControlData.read(dataDirectory: dataDirectory, binaries: binaries) else { return nil }
        return fromControlData(control.fields)
    }
}

extension Container {
    /// For the watchdog: raises the standby's hot-standby parameters to the upstream's and to
    /// what its pg_control demands, and restarts a running standby with them. Returns what
    /// was done, or nil when nothing had to change.
    func followUpstreamHotStandbySettings(binaries: PostgresBinaries) async throws -> String? {
        let standby = self.standby
        guard standby.exists else { return nil }
        let current = try HotStandbySettings.read(standby.upstreamSettingsFile)
        var sources = [current]
        if let upstream = HotStandbySettings.upstreamValues(self, connectTimeout: 5) { sources.append(upstream) }
        if let control = await HotStandbySettings.controlValues(layout.standby, binaries: binaries) { sources.append(control) }
        let required = HotStandbySettings.merged(sources)
        let changes = HotStandbySettings.raised(current: current, required: required)
        guard !changes.isEmpty else { return nil }
        try HotStandbySettings.write(current.merging(required) { max($0, $1) }, to: standby.upstreamSettingsFile)
        let what = "raised the standby's \(changes.joined(separator: ", ")) to follow the upstream"
        guard standby.state().isRunning else {
            logger.warning("\(what); the standby starts with them")
            return what
        }
        logger.warning("\(what); restarting the standby (with lower values it pauses replay at the upstream's parameter change)")
        try await standby.stop(binaries: binaries, logger: logger)
        try await standby.start(binaries: binaries, logger: logger)
        return what + " and restarted it"
    }

    /// Before a clone starts (while it still has to recover): its hot-standby parameters
    /// become at least the newest known values (its own pg_control, the standby's settings and
    /// pg_control, the upstream's when reachable), so replay never pauses at a
    /// parameter-change record. postgresql.conf and pgarchive.upstream.conf are rewritten.
    func raiseCloneHotStandbySettings(dataDirectory: String, binaries: PostgresBinaries) async throws {
        let fm = FileManager.default
        guard fm.fileExists(atPath: dataDirectory + "/recovery.signal") else { return } // promoted: replays nothing
        let settingsFile = dataDirectory + "/pgarchive.upstream.conf"
        let confFile = dataDirectory + "/postgresql.conf"
        var inEffect: [String: Int] = [:]
        let confText = (try? String(contentsOfFile: confFile, encoding: .utf8)) ?? ""
        for entry in try ConfigFile.parse(confText, file: confFile) where ServerConfiguration.hotStandbyParameters.contains(entry.key) {
            if let v = Int(entry.value) { inEffect[entry.key] = v }
        }
        var sources = [inEffect, try HotStandbySettings.read(settingsFile), try HotStandbySettings.read(standby.upstreamSettingsFile)]
        if let control = await HotStandbySettings.controlValues(dataDirectory, binaries: binaries) { sources.append(control) }
        if standby.exists, let control = await HotStandbySettings.controlValues(layout.standby, binaries: binaries) { sources.append(control) }
        if let upstream = HotStandbySettings.upstreamValues(self, connectTimeout: 2) { sources.append(upstream) }
        let required = HotStandbySettings.merged(sources)
        let changes = HotStandbySettings.raised(current: inEffect, required: required)
        guard !changes.isEmpty else { return }
        try HotStandbySettings.write(required, to: settingsFile)
        // Replace the lines in place (the last setting of a key wins in postgresql.conf).
        var lines = confText.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        lines.removeAll { line in required.keys.contains { line.hasPrefix($0 + " = ") } }
        if lines.last == "" { lines.removeLast() }
        for key in required.keys.sorted() { lines.append("\(key) = \(ConfigFile.quote(String(required[key]!)))") }
        try AtomicFile.write(lines.joined(separator: "\n") + "\n", to: confFile)
        logger.info("clone \((dataDirectory as NSString).lastPathComponent): raised \(changes.joined(separator: ", ")) (the newest values the upstream's WAL may demand)")
    }
}
