import Foundation
import PGArchiveCore
import Postgres
import XCTest

/// A container path on the scratch btrfs for one test, with the built binary to drive it.
/// `destroy()` purges it (stopping its daemons) and, if that fails, stops what it can by
/// the pids in its own pid files, then removes the directory.
public final class ContainerFixture: @unchecked Sendable {
    public let path: String
    public let scratch: String
    public let binary: PGArchiveBinary

    /// `root`: the btrfs to put it on; nil: `PGARCHIVE_TEST_BTRFS`.
    public init(name: String = "c", root: String? = nil, environment: [String: String?] = [:], file: StaticString = #filePath, line: UInt = #line) throws {
        let root = try root ?? IntegrationEnvironment.btrfsRoot(file: file, line: line)
        scratch = try TemporaryDirectory.make(prefix: "test", under: root)
        path = scratch + "/" + name
        binary = PGArchiveBinary(environment: environment)
    }

    /// Runs `pgarchive ARGS… -C path`.
    @discardableResult
    public func run(_ arguments: [String], environment: [String: String?] = [:]) async throws -> PGArchiveBinary.Result {
        try await binary.run(arguments + ["-C", path], environment: environment)
    }

    /// Runs and fails the test unless the exit code is 0.
    @discardableResult
    public func ok(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) async throws -> PGArchiveBinary.Result {
        let result = try await run(arguments)
        XCTAssertEqual(result.exitCode, 0, "pgarchive \(arguments.joined(separator: " ")) failed: \(result)", file: file, line: line)
        if result.exitCode != 0 { throw PGArchiveTestError("pgarchive \(arguments.joined(separator: " ")) failed") }
        return result
    }

    public func initContainer(upstream: UpstreamCluster, extra: [String] = [], file: StaticString = #filePath, line: UInt = #line) async throws {
        try await ok(["container", "init", "--upstream", upstream.conninfo] + extra, file: file, line: line)
    }

    public var layout: ContainerLayout { ContainerLayout(root: path) }

    /// The version matrix's PyPI build of 16 has no amcheck: verify --restore then runs with
    /// `verify_amcheck = off` (VerifyIntegrationTests proves the loud failure without it).
    public func skipAmcheckWhereUnavailable() throws {
        if !UpstreamCluster.hasAmcheck { try setConfig("verify_amcheck", "off") }
    }

    /// Sets `key = value` in pgarchive.conf (replacing its line, else appending), keeping the
    /// file 0600 as pgarchive requires. `value` is written as given (quote it if needed).
    public func setConfig(_ key: String, _ value: String) throws {
        let text = try String(contentsOfFile: layout.configFile, encoding: .utf8)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let line = "\(key) = \(value)"
        if let index = lines.firstIndex(where: { $0.hasPrefix(key + " = ") }) {
            lines[index] = line
        } else {
            if lines.last == "" { lines.removeLast() }
            lines += [line, ""]
        }
        try AtomicFile.write(lines.joined(separator: "\n"), to: layout.configFile, mode: 0o600)
    }

    public func config() throws -> ContainerConfig {
        try ContainerConfig.load(containerFile: layout.configFile, globalFile: nil)
    }

    /// A connection to the standby through its socket in run/.
    public func standbyConnection() throws -> Connection {
        let config = try config()
        return try Connection(conninfo: "host=\(layout.run) port=\(config.standbyPort) dbname=postgres user=\(config.standbyUser)", connectTimeout: 5)
    }

    /// The first column of the first row of `query` on the standby, or nil if it is not answering.
    public func standbyScalar(_ query: String) -> String? {
        guard let connection = try? standbyConnection() else { return nil }
        defer { connection.close() }
        return (try? connection.query(query))?.rows.first?[0]
    }

    /// A restartpoint newer than the last snapshot's: CHECKPOINT upstream a second later (a
    /// snapshot is named after its checkpoint's second), close the segment and wait until
    /// the standby has replayed past it.
    public func newCheckpointReplayed(_ upstream: UpstreamCluster, timeout: TimeInterval = 120,
                                      file: StaticString = #filePath, line: UInt = #line) async throws {
        try await Task.sleep(for: .milliseconds(1100))
        try upstream.sql("CHECKPOINT")
        let switched = try XCTUnwrap(upstream.scalar("SELECT pg_switch_wal()"), file: file, line: line)
        let replayed = await eventually(timeout: timeout) {
            self.standbyScalar("SELECT pg_last_wal_replay_lsn() >= '\(switched)'::pg_lsn") == "t"
        }
        XCTAssertTrue(replayed, "the standby did not replay past \(switched)", file: file, line: line)
    }

    public func receiverPID() -> pid_t? { Processes.readPIDFile(layout.receiverPidFile) }
    public func standbyPID() -> pid_t? { Processes.readPIDFile(layout.standby + "/postmaster.pid") }

    /// Stops every server running in one of this container's clones (by its own data
    /// directory, with the pg_ctl of the version under test), so a test that fails half-way
    /// leaves none behind even when `container purge` cannot run.
    public func stopClones() async {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: layout.clones)) ?? [] {
            let dir = layout.clone(name)
            if let pid = Processes.readPIDFile(dir + "/postmaster.pid"), Processes.isAlive(pid),
               Processes.commandLine(of: pid)?.first?.hasSuffix("postgres") == true {
                _ = try? await ToolCommand(executable: UpstreamCluster.bindir + "/pg_ctl",
                                           arguments: ["-D", dir, "-m", "immediate", "-w", "-t", "60", "stop"]).run()
            }
        }
    }

    public func destroy() async {
        if FileManager.default.fileExists(atPath: layout.configFile) {
            _ = try? await run(["container", "purge", "--force"])
        }
        // If purge could not finish, stop our own daemons by their pids.
        if let pid = Processes.readPIDFile(layout.receiverPidFile), Processes.commandLine(of: pid)?.first?.hasSuffix("pg_receivewal") == true {
            kill(pid, SIGKILL)
        }
        if let pid = standbyPID(), Processes.commandLine(of: pid)?.first?.hasSuffix("postgres") == true {
            kill(pid, SIGQUIT)
        }
        _ = try? await ToolCommand(executable: "btrfs", arguments: ["subvolume", "delete", layout.walArchive, layout.standby, layout.dumps]).run()
        try? FileManager.default.removeItem(atPath: scratch)
    }
}

/// Polls `condition` until it holds or `timeout` passes.
public func eventually(timeout: TimeInterval = 60, interval: TimeInterval = 0.5, _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    repeat {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(Int(interval * 1000)))
    } while Date() < deadline
    return try await condition()
}
