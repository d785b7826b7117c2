import Foundation

/// The settings of one container, from `pgarchive.conf` over the global defaults
/// (`/etc/pgarchive.conf` or `$PGARCHIVE_CONF`) over built-in defaults.
public struct ContainerConfig: Sendable, Equatable {
    /// libpq conninfo of the upstream for SQL (no password: use ~/.pgpass or PGPASSFILE).
    public var upstream: String = ""
    /// conninfo for replication connections (pg_receivewal, pg_basebackup); empty = `upstream`.
    public var upstreamReplication: String = ""
    public var slot: String = ""
    /// Directory of the PostgreSQL binaries; empty = found from `upstream_version`.
    public var pgBindir: String = ""
    public var upstreamVersion: Int = 0
    public var standbyPort: Int = 0
    public var expireAfter = TimeSpan(seconds: 30 * 86400)
    public var thinDailyAfter = TimeSpan(seconds: 7 * 86400)
    public var walCompression: String = "zstd"
    public var btrfsCompression: String = "zstd"
    public var dumpKeep: Int = 7
    /// Dump runs older than this are expired too (the newest run of a database never is); nil: count only.
    public var dumpExpireAfter: TimeSpan?
    /// Parallel pg_dump / pg_restore jobs per database.
    public var dumpJobs: Int = 2
    /// `snapshot create` refuses a restartpoint older than this unless `--force`.
    public var snapshotMaxRestartpointAge = TimeSpan(seconds: 3600)
    /// First port tried for clones; each clone takes the next free one.
    public var clonePortBase: Int = 0
    /// Command (split on spaces, no shell) `cron maintenance` runs with `standby/` appended;
    /// empty = none. Defragmenting un-shares extents with snapshots: see MANUAL.md.
    public var maintenanceCommand: String = ""
    /// The watchdog reports pg_receivewal or the standby as stuck after this long without progress.
    public var watchdogStuckAfter = TimeSpan(seconds: 600)
    /// Free space on the container's file system below which status is degraded and check warns.
    public var diskWarning = DiskThreshold.percent(10)
    /// Free space below which check is critical.
    public var diskCritical = DiskThreshold.percent(5)
    /// Role pgarchive uses on the standby and clones (the upstream's bootstrap superuser).
    public var standbyUser: String = "postgres"
    /// The upstream's database system identifier; resync refuses a different cluster.
    public var systemIdentifier: String = ""

    public init() {}

    /// The replication conninfo in effect.
    public var effectiveUpstreamReplication: String { upstreamReplication.isEmpty ? upstream : upstreamReplication }

    /// Every key the file may contain, with a one-line meaning (written into new files).
    public static let keys: [(name: String, help: String)] = [
        ("upstream", "libpq conninfo of the upstream cluster (passwords go into ~/.pgpass, never here)"),
        ("upstream_replication", "conninfo for replication connections; empty means the same as upstream"),
        ("slot", "physical replication slot on the upstream that pg_receivewal streams from"),
        ("pg_bindir", "directory of the PostgreSQL binaries; empty finds them for upstream_version"),
        ("upstream_version", "major version of the upstream (the standby must match it)"),
        ("standby_port", "port of the standby (it listens on its socket in run/ only, no TCP)"),
        ("expire_after", "snapshots older than this are deleted by expiry, e.g. '30 days'"),
        ("thin_daily_after", "snapshots older than this are thinned to one per day"),
        ("wal_compression", "compression of completed WAL segments: zstd, lz4, gzip or none"),
        ("btrfs_compression", "btrfs compression property of the subvolumes: zstd, lzo, zlib or none"),
        ("dump_keep", "logical dump runs kept per database"),
        ("dump_expire_after", "dump runs older than this are deleted too (never a database's newest); empty: by count only"),
        ("dump_jobs", "parallel pg_dump and pg_restore jobs per database"),
        ("snapshot_max_restartpoint_age", "snapshot create refuses an older restartpoint unless --force"),
        ("clone_port_base", "first port tried for clones; 0 means standby_port + 1"),
        ("maintenance_command", "command cron maintenance runs with standby/ appended (no shell), e.g. 'sudo -n btrfs filesystem defragment -r'; empty: none"),
        ("watchdog_stuck_after", "cron watchdog reports pg_receivewal or the standby as stuck after this long without progress"),
        ("disk_warning", "free space on the container's file system below which status is degraded and check warns: a share such as '10%' or an amount such as '2 GiB'"),
        ("disk_critical", "free space below which check is critical, e.g. '5%' or '500 MiB'"),
        ("standby_user", "role pgarchive connects as to the standby and clones (a superuser of the upstream)"),
        ("system_identifier", "database system identifier of the upstream (set by init; resync checks it)"),
    ]

    /// Applies entries in order; unknown keys and bad values are errors naming file and line.
    public mutating func apply(_ entries: [ConfigEntry]) throws(PGArchiveError) {
        for entry in entries {
            func bad(_ expected: String) -> PGArchiveError {
                PGArchiveError("\(entry.file):\(entry.line): invalid value '\(entry.value)' for \(entry.key): expected \(expected)")
            }
            func integer(_ range: ClosedRange<Int>) throws(PGArchiveError) -> Int {
                guard let n = Int(entry.value), range.contains(n) else { throw bad("a whole number from \(range.lowerBound) to \(range.upperBound)") }
                return n
            }
            func span() throws(PGArchiveError) -> TimeSpan {
                guard let s = TimeSpan(parsing: entry.value) else { throw bad("a time span such as '30 days', '12 hours' or '45 min'") }
                return s
            }
            func choice(_ options: [String]) throws(PGArchiveError) -> String {
                guard options.contains(entry.value) else { throw bad("one of \(options.joined(separator: ", "))") }
                return entry.value
            }
            switch entry.key {
            case "upstream": upstream = entry.value
            case "upstream_replication": upstreamReplication = entry.value
            case "slot":
                guard ReplicationSlotName.isValid(entry.value) else { throw bad("a slot name of lower-case letters, digits and underscores, at most 63 characters") }
                slot = entry.value
            case "pg_bindir": pgBindir = entry.value
            case "upstream_version": upstreamVersion = try integer(10...99)
            case "standby_port": standbyPort = try integer(1024...65535)
            case "expire_after": expireAfter = try span()
            case "thin_daily_after": thinDailyAfter = try span()
            case "wal_compression": walCompression = try choice(["zstd", "lz4", "gzip", "none"])
            case "btrfs_compression": btrfsCompression = try choice(["zstd", "lzo", "zlib", "none"])
            case "dump_keep": dumpKeep = try integer(1...100_000)
            case "dump_expire_after": dumpExpireAfter = entry.value.isEmpty ? nil : try span()
            case "dump_jobs": dumpJobs = try integer(1...64)
            case "snapshot_max_restartpoint_age": snapshotMaxRestartpointAge = try span()
            case "clone_port_base": clonePortBase = try integer(0...65535)
            case "maintenance_command": maintenanceCommand = entry.value
            case "watchdog_stuck_after": watchdogStuckAfter = try span()
            case "disk_warning", "disk_critical":
                guard let threshold = DiskThreshold(parsing: entry.value) else { throw bad("a share of the file system such as '10%' or an amount such as '2 GiB'") }
                if entry.key == "disk_warning" { diskWarning = threshold } else { diskCritical = threshold }
            case "standby_user":
                guard !entry.value.isEmpty else { throw bad("a role name") }
                standbyUser = entry.value
            case "system_identifier":
                guard entry.value.isEmpty || UInt64(entry.value) != nil else { throw bad("a number") }
                systemIdentifier = entry.value
            default:
                let known = Self.keys.map(\.name).joined(separator: ", ")
                throw PGArchiveError("\(entry.file):\(entry.line): unknown setting '\(entry.key)'; known settings: \(known)")
            }
        }
    }

    /// Loads the global defaults (if the file exists) and then the container's file.
    public static func load(containerFile: String, globalFile: String?) throws(PGArchiveError) -> ContainerConfig {
        var config = ContainerConfig()
        if let globalFile, FileManager.default.fileExists(atPath: globalFile) {
            try config.apply(ConfigFile.parse(try readText(globalFile), file: globalFile))
        }
        try config.apply(ConfigFile.parse(try readText(containerFile), file: containerFile))
        return config
    }

    static func readText(_ path: String) throws(PGArchiveError) -> String {
        do { return try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw PGArchiveError("cannot read \(path): \(error.localizedDescription)")
        }
    }

    /// The file as `container init` writes it: every key with its meaning as a comment.
    public func rendered() -> String {
        var values: [String: String] = [
            "upstream": upstream, "upstream_replication": upstreamReplication, "slot": slot,
            "pg_bindir": pgBindir, "upstream_version": String(upstreamVersion),
            "standby_port": String(standbyPort), "expire_after": expireAfter.description,
            "thin_daily_after": thinDailyAfter.description, "wal_compression": walCompression,
            "btrfs_compression": btrfsCompression, "dump_keep": String(dumpKeep),
            "dump_expire_after": dumpExpireAfter?.description ?? "", "dump_jobs": String(dumpJobs),
            "snapshot_max_restartpoint_age": snapshotMaxRestartpointAge.description,
            "clone_port_base": String(clonePortBase),
            "maintenance_command": maintenanceCommand, "watchdog_stuck_after": watchdogStuckAfter.description,
            "disk_warning": diskWarning.description, "disk_critical": diskCritical.description,
            "standby_user": standbyUser, "system_identifier": systemIdentifier,
        ]
        var text = "# pgarchive container settings (postgresql.conf syntax). See MANUAL.md.\n"
        for (name, help) in Self.keys {
            text += "\n# \(help)\n\(name) = \(ConfigFile.quote(values.removeValue(forKey: name) ?? ""))\n"
        }
        return text
    }
}

/// PostgreSQL's rule for replication slot names.
public enum ReplicationSlotName {
    public static func isValid(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 63 && name.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }
    }

    /// `pgarchive_<dir name>` folded to the allowed characters.
    public static func defaultName(containerDirectory: String) -> String {
        let base = (containerDirectory as NSString).lastPathComponent.lowercased()
        let folded = String(base.map { ("a"..."z").contains($0) || ("0"..."9").contains($0) ? $0 : "_" })
        return String(("pgarchive_" + folded).prefix(63))
    }
}
