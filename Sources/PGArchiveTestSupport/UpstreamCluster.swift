import Foundation
import Postgres
import XCTest

/// A throwaway PostgreSQL cluster for integration tests: initdb into a temp directory (never
/// on btrfs, like a real upstream), a free port, its socket in the temp directory, no TCP,
/// `wal_level=replica` with WAL senders and slots. `stop()` (also from deinit) always stops it.
public final class UpstreamCluster: @unchecked Sendable {
    public let directory: String
    public let dataDirectory: String
    public let socketDirectory: String
    public let port: Int
    /// The programs it runs with (`upgrade(to:)` changes them).
    public internal(set) var binaries: PostgresBinaries
    /// Arguments for `postgres` on every start, passed through `pg_ctl -o` (and so through
    /// pg_ctl's `/bin/sh`: `PgCtl` quotes them), e.g. `["-c", "cluster_name=it's"]`.
    public let serverOptions: [String]
    public private(set) var running = false

    /// conninfo for SQL and replication connections as the bootstrap superuser.
    public var conninfo: String { "host=\(socketDirectory) port=\(port) dbname=postgres user=postgres" }

    /// The PostgreSQL major version under test: 15 (Debian's) unless `make test`'s version
    /// matrix runs the tests again with `PGARCHIVE_TEST_PG_VERSION` (16, 18) and
    /// `PGARCHIVE_TEST_PG_BINDIR` (that version's programs, from PyPI builds).
    public static var majorVersion: Int {
        ProcessInfo.processInfo.environment["PGARCHIVE_TEST_PG_VERSION"].flatMap { Int($0) } ?? 15
    }

    /// Where the programs of `majorVersion` are: `PGARCHIVE_TEST_PG_BINDIR`, else Debian's.
    public static var bindir: String {
        if let dir = ProcessInfo.processInfo.environment["PGARCHIVE_TEST_PG_BINDIR"], !dir.isEmpty { return dir }
        return "/usr/lib/postgresql/\(majorVersion)/bin"
    }

    /// Whether the programs under test have the amcheck extension: Debian's and the PyPI
    /// build of 18 do, the PyPI build of 16 has no contrib modules. The share directory is
    /// where `pg_config --sharedir` puts it: Debian's, or `share/[postgresql/]` of the prefix.
    public static var hasAmcheck: Bool {
        let prefix = (bindir as NSString).deletingLastPathComponent
        let shares = bindir.hasPrefix("/usr/lib/postgresql/") ? ["/usr/share/postgresql/\(majorVersion)"]
            : [prefix + "/share", prefix + "/share/postgresql"]
        return shares.contains { FileManager.default.fileExists(atPath: $0 + "/extension/amcheck.control") }
    }

    /// Finds the PostgreSQL under test, or skips (fails under PGARCHIVE_TEST_REQUIRE=1).
    public static func requireBinaries(file: StaticString = #filePath, line: UInt = #line) throws -> PostgresBinaries {
        let bindir = bindir
        guard FileManager.default.isExecutableFile(atPath: bindir + "/postgres") else {
            try IntegrationEnvironment.unavailable("PostgreSQL \(majorVersion) is not installed (\(bindir)/postgres missing; apt-get install postgresql-\(majorVersion), or for another version let `make test` install it)", file: file, line: line)
        }
        guard geteuid() != 0 else {
            try IntegrationEnvironment.unavailable("PostgreSQL refuses to run as root; run the tests as postgres (`make test` does)", file: file, line: line)
        }
        return PostgresBinaries(bindir: bindir, majorVersion: majorVersion)
    }

    /// Creates and starts a cluster. `settings` are appended to postgresql.conf (values as
    /// written there: quote strings yourself); `serverOptions` go to `postgres` on each start.
    /// `binaries`: another version's programs than the one under test (a major upgrade test).
    public init(name: String = "upstream", settings: [String: String] = [:], initdbArguments: [String] = [],
                serverOptions: [String] = [], binaries explicitBinaries: PostgresBinaries? = nil,
                file: StaticString = #filePath, line: UInt = #line) async throws {
        binaries = try explicitBinaries ?? Self.requireBinaries(file: file, line: line)
        self.serverOptions = serverOptions
        directory = try TemporaryDirectory.make(prefix: "pgarchive-\(name)")
        dataDirectory = directory + "/data"
        socketDirectory = directory
        port = try FreePort.find()
        try await ToolCommand(executable: binaries.path("initdb"),
                              arguments: ["-D", dataDirectory, "--auth=trust", "--username=postgres",
                                          "--no-sync", "--encoding=UTF8", "--locale=C"] + initdbArguments,
                              environment: ["LC_ALL": "C"]).runChecked()
        var conf = """

            # test upstream
            port = \(port)
            listen_addresses = ''
            unix_socket_directories = '\(socketDirectory)'
            wal_level = replica
            max_wal_senders = 10
            max_replication_slots = 10
            archive_mode = off
            fsync = off
            log_line_prefix = '%m [%p] '

            """
        for (key, value) in settings.sorted(by: { $0.key < $1.key }) { conf += "\(key) = \(value)\n" }
        try appendText(conf, to: dataDirectory + "/postgresql.conf")
        try await start()
        try checkServerVersion()
    }

    /// The version matrix is only worth its time if the server really is the version under test.
    private func checkServerVersion() throws {
        let number = try scalar("SHOW server_version_num").flatMap { Int($0) } ?? 0
        guard number / 10000 == binaries.majorVersion else {
            throw PGArchiveTestError("the test upstream runs server_version_num \(number), not PostgreSQL \(binaries.majorVersion) (\(binaries.bindir))")
        }
    }

    /// A streaming hot standby of `primary`: pg_basebackup -R into a temp directory, its own
    /// port and socket. For containers whose upstream is itself a standby.
    public init(name: String, replicaOf primary: UpstreamCluster, file: StaticString = #filePath, line: UInt = #line) async throws {
        binaries = try Self.requireBinaries(file: file, line: line)
        serverOptions = []
        directory = try TemporaryDirectory.make(prefix: "pgarchive-\(name)")
        dataDirectory = directory + "/data"
        socketDirectory = directory
        port = try FreePort.find()
        try await PgBaseBackup(binaries: binaries, pgdata: dataDirectory, conninfo: primary.conninfo,
                               walMethod: .stream, checkpoint: .fast, writeRecoveryConf: true).command.runChecked()
        try appendText("""

            # replica of \(primary.dataDirectory)
            port = \(port)
            unix_socket_directories = '\(socketDirectory)'
            hot_standby = on

            """, to: dataDirectory + "/postgresql.conf")
        try await start()
    }

    /// Starts the server; on failure the error includes the server log.
    public func start() async throws {
        let logFile = directory + "/server.log"
        do {
            try await PgCtl(binaries: binaries, action: .start, dataDirectory: dataDirectory, logFile: logFile,
                            serverOptions: serverOptions, wait: true, timeout: 60).command.runChecked()
        } catch {
            let log = (try? String(contentsOfFile: logFile, encoding: .utf8)).map { String($0.suffix(4000)) } ?? "(no server log)"
            throw PGArchiveTestError("starting the test cluster in \(dataDirectory) failed: \(error)\nserver log (end):\n\(log)")
        }
        running = true
    }

    /// Stops the server (fast by default; `immediate` simulates a crash without a checkpoint).
    public func stop(mode: String = "fast") async {
        guard running else { return }
        _ = try? await ToolCommand(executable: binaries.path("pg_ctl"),
                                   arguments: ["-D", dataDirectory, "-m", mode, "-w", "-t", "60", "stop"]).run()
        running = false
    }

    /// The postmaster's pid from postmaster.pid (for kill -9 tests).
    public func postmasterPID() -> pid_t? {
        guard let text = try? String(contentsOfFile: dataDirectory + "/postmaster.pid", encoding: .utf8),
              let first = text.split(separator: "\n").first else { return nil }
        return pid_t(first)
    }

    public func connect(database: String = "postgres", user: String = "postgres") throws -> Connection {
        try Connection(conninfo: "host=\(socketDirectory) port=\(port) dbname=\(database) user=\(user)")
    }

    /// Runs SQL statements (no parameters) on a fresh connection.
    public func sql(_ statements: String, database: String = "postgres") throws {
        let connection = try connect(database: database)
        defer { connection.close() }
        try connection.execute(statements)
    }

    /// Runs a query and returns the first column of the first row.
    public func scalar(_ query: String, _ params: [String?] = [], database: String = "postgres") throws -> String? {
        let connection = try connect(database: database)
        defer { connection.close() }
        return try connection.query(query, params).rows.first?[0]
    }

    /// `pgbench -i -s scale` (fills pgbench_accounts with scale × 100 000 rows).
    public func pgbenchInit(scale: Int, database: String = "postgres") async throws {
        try await ToolCommand(executable: binaries.path("pgbench"),
                              arguments: ["-i", "-q", "-s", String(scale), "-h", socketDirectory, "-p", String(port), "-U", "postgres", database]).runChecked()
    }

    /// Runs pgbench for `seconds` with `clients` (a bounded load, always ends by itself).
    public func pgbench(seconds: Int, clients: Int = 2, database: String = "postgres") async throws {
        try await ToolCommand(executable: binaries.path("pgbench"),
                              arguments: ["-n", "-T", String(seconds), "-c", String(clients), "-h", socketDirectory, "-p", String(port), "-U", "postgres", database]).runChecked()
    }

    /// Stops the server and removes its directory.
    public func destroy() async {
        await stop(mode: "immediate")
        try? FileManager.default.removeItem(atPath: directory)
    }

    deinit {
        // Last resort if a test forgot destroy(): stop by the pid we started, never by name.
        if running, let pid = postmasterPID() { kill(pid, SIGQUIT) }
    }
}

func appendText(_ text: String, to path: String) throws {
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
    defer { try? handle.close() }
    try handle.seekToEnd()
    try handle.write(contentsOf: Data(text.utf8))
}

/// Unique scratch directories (mode 0700), on /tmp or under a given root (e.g. the btrfs mount).
public enum TemporaryDirectory {
    public static func make(prefix: String, under root: String = NSTemporaryDirectory()) throws -> String {
        var template = Array(((root as NSString).appendingPathComponent("\(prefix).XXXXXX")).utf8CString)
        guard let result = mkdtemp(&template) else {
            throw PGArchiveTestError("mkdtemp under \(root) failed: \(String(cString: strerror(errno)))")
        }
        return String(cString: result)
    }
}

/// A TCP port nobody listens on right now (bind to port 0 and read it back).
public enum FreePort {
    public static func find() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw PGArchiveTestError("socket() failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw PGArchiveTestError("could not find a free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

public struct PGArchiveTestError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

