import Foundation
import Logging
import Postgres

/// An opened container: its layout, its settings and the logger commands report through.
/// Commands receive one of these instead of reaching for globals.
public final class Container: @unchecked Sendable {
    public let layout: ContainerLayout
    public internal(set) var config: ContainerConfig
    public var logger: Logger

    init(layout: ContainerLayout, config: ContainerConfig, logger: Logger) {
        self.layout = layout
        self.config = config
        self.logger = logger
    }

    /// The global defaults file: `$PGARCHIVE_CONF`, else `/etc/pgarchive.conf` (if present).
    public static var globalConfigFile: String {
        ProcessInfo.processInfo.environment["PGARCHIVE_CONF"].flatMap { $0.isEmpty ? nil : $0 } ?? "/etc/pgarchive.conf"
    }

    /// Opens an existing container, with a clear error when the path is not one.
    public static func open(path: String, logger: Logger = Logger(label: "pgarchive")) throws(PGArchiveError) -> Container {
        let layout = ContainerLayout(root: path)
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: layout.root, isDirectory: &isDir) else {
            throw PGArchiveError("container \(layout.root) does not exist; create it with `pgarchive container init -C \(layout.root) --upstream CONNINFO`")
        }
        guard isDir.boolValue, FileManager.default.fileExists(atPath: layout.configFile) else {
            throw PGArchiveError("\(layout.root) is not a pgarchive container (no pgarchive.conf in it)")
        }
        try ContainerPermissions.require(layout)
        let config = try ContainerConfig.load(containerFile: layout.configFile, globalFile: globalConfigFile)
        return Container(layout: layout, config: config, logger: logger)
    }

    /// Writes pgarchive.conf atomically, mode 0600.
    public func saveConfig() throws(PGArchiveError) {
        try AtomicFile.write(config.rendered(), to: layout.configFile, mode: 0o600)
    }

    /// The PostgreSQL binaries matching the upstream's major version.
    public func binaries() async throws -> PostgresBinaries {
        try await PostgresBinaries.locate(majorVersion: config.upstreamVersion == 0 ? nil : config.upstreamVersion,
                                          explicitBindir: config.pgBindir.isEmpty ? nil : config.pgBindir)
    }

    public func upstreamConnection(connectTimeout: Int = 10) throws -> Connection {
        try Connection(conninfo: config.upstream, connectTimeout: connectTimeout)
    }

    /// conninfo of the standby: its socket in run/, its port, the recorded superuser.
    public var standbyConninfo: String {
        Conninfo([("host", layout.standbySocketDirectory), ("port", String(config.standbyPort)),
                  ("dbname", "postgres"), ("user", config.standbyUser)]).rendered
    }

    public func standbyConnection(connectTimeout: Int = 5) throws -> Connection {
        try Connection(conninfo: standbyConninfo, connectTimeout: connectTimeout)
    }

    /// Takes a container lock; waits (logging who holds it) unless `wait` is false.
    public func lock(_ kind: ContainerLock.Kind, command: String, wait: Bool = true) throws(PGArchiveError) -> ContainerLock {
        try ContainerLock.acquire(kind, in: layout.run, command: command, wait: wait) { [logger] message in
            logger.notice("\(message)")
        }
    }

    /// The container was retired: no slot, no standby; snapshots and WAL remain for restores.
    public var isRetired: Bool { FileManager.default.fileExists(atPath: layout.retiredMarker) }
}

extension ContainerLayout {
    /// Present while the container is retired (holds the time it was retired).
    public var retiredMarker: String { root + "/RETIRED" }
}

/// The container directory must be 0700 and pgarchive.conf 0600 (docs/ARCHITECTURE.md,
/// invariants: no other user reads WAL, data files or the settings). Every command checks this when it opens
/// the container, before it changes anything; `check` reports it as CRITICAL.
public enum ContainerPermissions {
    /// One line per problem, naming the path, its mode and the command that fixes it; empty
    /// when the permissions are right (or the paths cannot be examined: opening reports that).
    public static func problems(_ layout: ContainerLayout) -> [String] {
        var problems: [String] = []
        func mode(_ path: String) -> mode_t? {
            var info = stat()
            guard stat(path, &info) == 0 else { return nil }
            return info.st_mode & 0o7777
        }
        func octal(_ mode: mode_t) -> String {
            let digits = String(mode, radix: 8)
            return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
        }
        if let m = mode(layout.root), m & 0o077 != 0 {
            problems.append("container directory \(layout.root) has mode \(octal(m)), so other users can reach into it; pgarchive requires 0700: run `chmod 700 \(layout.root)`")
        }
        if let m = mode(layout.configFile), m & 0o077 != 0 {
            problems.append("\(layout.configFile) has mode \(octal(m)), so other users can read or change it; pgarchive requires 0600: run `chmod 600 \(layout.configFile)`")
        }
        return problems
    }

    public static func require(_ layout: ContainerLayout) throws(PGArchiveError) {
        let problems = problems(layout)
        guard problems.isEmpty else {
            throw PGArchiveError("refusing to use the container: " + problems.joined(separator: "; "))
        }
    }
}
