import Foundation
import Postgres

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
    /// Snapshots older than this are thinned to the first of each hour (cron takes one every
    /// 15 minutes; issue 16: the replay of a restore is bounded by the WAL since the nearest).
    public var thinHourlyAfter = TimeSpan(seconds: 86400)
    /// The time zone whose days `snapshot thin` keeps one snapshot of (IANA name).
    public var thinTimeZone = "UTC"
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
    /// pg_receivewal runs with `--synchronous` (flushes and reports every write at once), so
    /// the upstream can list it in synchronous_standby_names: zero data loss, but upstream
    /// commits wait while the receiver is down. See MANUAL.md, "Zero data loss".
    public var synchronous = false
    /// `verify --restore` runs pg_amcheck in the restored clone; off only where the
    /// PostgreSQL build has no amcheck extension (and says so in every report).
    public var verifyAmcheck = true
    /// `listen_addresses` of clones (also verify's and dump's temporary ones): `localhost`
    /// by default, so a clone is reachable through its socket in run/ and from this machine
    /// only. The standby never listens on TCP.
    public var cloneListenAddresses: String = "localhost"
    /// The directory holding the containers, for `status --all` and `check --all` (global
    /// file only; empty: they need --root).
    public var containersRoot: String = ""

    public init() {}

    /// The replication conninfo in effect.
    public var effectiveUpstreamReplication: String { upstreamReplication.isEmpty ? upstream : upstreamReplication }

    /// The application_name pg_receivewal connects with: the slot's name (stable, and unique
    /// on the upstream), unless `upstream_replication` sets one. This is the name the upstream's
    /// synchronous_standby_names lists for synchronous mode.
    public var receiverApplicationName: String {
        (try? Conninfo(effectiveUpstreamReplication))?.value(for: "application_name") ?? slot
    }

    /// The replication conninfo with `application_name` set to `receiverApplicationName`
    /// (libpq key/value form; still without a password).
    public func receiverConninfo() throws(PostgresError) -> String {
        let conninfo = try Conninfo(effectiveUpstreamReplication)
        guard conninfo.value(for: "application_name") == nil else { return effectiveUpstreamReplication }
        return conninfo.setting("application_name", slot).rendered
    }

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
        ("synchronous", "on: pg_receivewal runs with --synchronous, for the upstream's synchronous_standby_names (zero data loss; upstream commits wait while it is down); off or on"),
        ("clone_listen_addresses", "TCP addresses clones listen on besides their socket in run/: localhost, empty for the socket only, or a comma-separated list of addresses or '*' (other hosts then need a password)"),
        ("thin_time_zone", "time zone whose days snapshot thin keeps one snapshot of: an IANA name such as UTC or Europe/Berlin"),
        ("thin_hourly_after", "snapshots older than this are thinned to one per hour (the first of each hour)"),
        ("verify_amcheck", "on: verify --restore checks the restored clone with pg_amcheck (the amcheck extension must be installed for the upstream's version); off skips it, and verify says so"),
    ]

    /// Keys only the global file (`/etc/pgarchive.conf`, `$PGARCHIVE_CONF`) may set: they are
    /// about all containers, so `container init` does not write them into a container's file.
    public static let globalKeys: [(name: String, help: String)] = [
        ("containers_root", "directory holding the containers (one subdirectory each), for status --all and check --all; an absolute path"),
    ]

    /// Applies entries in order; unknown keys and bad values are errors naming file and line.
    /// `global`: the entries come from the global file, which may also set `globalKeys`.
    public mutating func apply(_ entries: [ConfigEntry], global: Bool = false) throws(PGArchiveError) {
        for entry in entries {
            func bad(_ expected: String) -> PGArchiveError {
                PGArchiveError("\(entry.file):\(entry.line): invalid value '\(PGArchiveError.echo(entry.value))' for \(entry.key): expected \(expected)")
            }
            /// A conninfo libpq can read and that carries no password: connection strings end up
            /// on command lines (pg_receivewal -d …) where every user sees them in ps.
            func conninfo() throws(PGArchiveError) -> String {
                guard !entry.value.isEmpty else { return "" }
                let parsed: Conninfo
                do { parsed = try Conninfo(entry.value) } catch {
                    throw PGArchiveError("\(entry.file):\(entry.line): invalid value for \(entry.key): \(error)")
                }
                guard !parsed.containsPassword else {
                    throw PGArchiveError("\(entry.file):\(entry.line): \(entry.key) contains a password, which pgarchive refuses (it would show on command lines in ps); remove it and put the password into ~/.pgpass (mode 0600) of the user running pgarchive, or into the file named by PGPASSFILE, as host:port:database:user:password" + parsed.sslPasswordAdvice)
                }
                return entry.value
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
            case "upstream": upstream = try conninfo()
            case "upstream_replication": upstreamReplication = try conninfo()
            case "slot":
                guard ReplicationSlotName.isValid(entry.value) else { throw bad("a slot name of lower-case letters, digits and underscores, at most 63 characters") }
                slot = entry.value
            case "pg_bindir": pgBindir = entry.value
            case "upstream_version": upstreamVersion = try integer(10...99)
            case "standby_port": standbyPort = try integer(1024...65535)
            case "expire_after": expireAfter = try span()
            case "thin_daily_after": thinDailyAfter = try span()
            case "thin_hourly_after": thinHourlyAfter = try span()
            case "thin_time_zone":
                guard TimeZone(identifier: entry.value) != nil else { throw bad("an IANA time zone name such as UTC or Europe/Berlin") }
                thinTimeZone = entry.value
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
            case "synchronous", "verify_amcheck":
                let on: Bool
                switch entry.value.lowercased() {
                case "on", "true", "yes", "1": on = true
                case "off", "false", "no", "0": on = false
                default: throw bad("on or off")
                }
                if entry.key == "synchronous" { synchronous = on } else { verifyAmcheck = on }
            case "system_identifier":
                guard entry.value.isEmpty || UInt64(entry.value) != nil else { throw bad("a number") }
                systemIdentifier = entry.value
            case "clone_listen_addresses":
                guard ListenAddresses.isValid(entry.value) else {
                    throw bad("'localhost', '' (socket only), '*' or a comma-separated list of host names and IP addresses")
                }
                cloneListenAddresses = entry.value
            case "containers_root":
                guard global else {
                    throw PGArchiveError("\(entry.file):\(entry.line): containers_root is about all containers and belongs in the global file (/etc/pgarchive.conf or $PGARCHIVE_CONF), not in a container's pgarchive.conf; move the line there")
                }
                guard entry.value.isEmpty || entry.value.hasPrefix("/") else { throw bad("an absolute path such as '/srv/pgarchive'") }
                containersRoot = entry.value
            default:
                let known = (Self.keys + (global ? Self.globalKeys : [])).map(\.name).joined(separator: ", ")
                throw PGArchiveError("\(entry.file):\(entry.line): unknown setting '\(PGArchiveError.echo(entry.key))'; known settings: \(known)")
            }
        }
    }

    /// Loads the global defaults (if the file exists) and then the container's file.
    public static func load(containerFile: String, globalFile: String?) throws(PGArchiveError) -> ContainerConfig {
        var config = ContainerConfig()
        if let globalFile, FileManager.default.fileExists(atPath: globalFile) {
            try GlobalConfigPermissions.require(globalFile)
            try config.apply(ConfigFile.parse(try readText(globalFile), file: globalFile), global: true)
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
            "thin_daily_after": thinDailyAfter.description, "thin_hourly_after": thinHourlyAfter.description,
            "wal_compression": walCompression,
            "btrfs_compression": btrfsCompression, "dump_keep": String(dumpKeep),
            "dump_expire_after": dumpExpireAfter?.description ?? "", "dump_jobs": String(dumpJobs),
            "snapshot_max_restartpoint_age": snapshotMaxRestartpointAge.description,
            "clone_port_base": String(clonePortBase),
            "maintenance_command": maintenanceCommand, "watchdog_stuck_after": watchdogStuckAfter.description,
            "disk_warning": diskWarning.description, "disk_critical": diskCritical.description,
            "standby_user": standbyUser, "system_identifier": systemIdentifier,
            "synchronous": synchronous ? "on" : "off", "verify_amcheck": verifyAmcheck ? "on" : "off",
            "clone_listen_addresses": cloneListenAddresses, "thin_time_zone": thinTimeZone,
        ]
        var text = "# pgarchive container settings (postgresql.conf syntax). See MANUAL.md.\n"
        for (name, help) in Self.keys {
            text += "\n# \(help)\n\(name) = \(ConfigFile.quote(values.removeValue(forKey: name) ?? ""))\n"
        }
        return text
    }
}

/// The value of PostgreSQL's `listen_addresses`: empty (unix sockets only), `*`, or a
/// comma-separated list of host names and numeric IPv4/IPv6 addresses.
public enum ListenAddresses {
    public static func isValid(_ value: String) -> Bool {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        if trimmed.isEmpty || trimmed == "*" { return true }
        return value.split(separator: ",", omittingEmptySubsequences: false).allSatisfy { item in
            let address = item.trimmingCharacters(in: .whitespaces)
            return !address.isEmpty && address.count <= 253 && address.unicodeScalars.allSatisfy { scalar in
                switch scalar {
                case "a"..."z", "A"..."Z", "0"..."9", ".", "-", ":", "_", "%": true
                default: false
                }
            }
        }
    }

    /// Whether the addresses reach beyond this machine (anything but loopback names).
    public static func includesNonLoopback(_ value: String) -> Bool {
        value.split(separator: ",").contains { item in
            !["localhost", "127.0.0.1", "::1"].contains(item.trimmingCharacters(in: .whitespaces).lowercased())
        }
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
