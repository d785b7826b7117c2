import Foundation
import PGArchiveCore
import PGArchiveTestSupport
import Postgres
import XCTest

/// Logical dumps end to end: a real upstream, a container on btrfs, the built binary.
final class DumpIntegrationTests: XCTestCase {
    var upstreams: [UpstreamCluster] = []
    var containers: [ContainerFixture] = []
    var processes: [Process] = []

    static let oddName = "it's a \"db\""

    override func tearDown() async throws {
        for process in processes where process.isRunning { kill(process.processIdentifier, SIGKILL) }
        for container in containers.reversed() {
            await container.stopClones()
            await container.destroy()
        }
        for upstream in upstreams.reversed() { await upstream.destroy() }
        containers = []
        upstreams = []
        processes = []
    }

    struct ListEntry: Decodable {
        var run: DumpRun
        var path: String
        var exclusiveBytes: UInt64?
    }

    func list(_ container: ContainerFixture, _ database: String? = nil) async throws -> [ListEntry] {
        let result = try await container.ok(["dump", "list", "--json"] + (database.map { [$0] } ?? []))
        return try SnapshotStore.decoder.decode([ListEntry].self, from: Data(result.stdout.utf8))
    }

    /// Connections pg_dump made to the upstream, from its log (log_connections = on).
    func pgDumpConnections(_ upstream: UpstreamCluster) -> Int {
        let log = (try? String(contentsOfFile: upstream.directory + "/server.log", encoding: .utf8)) ?? ""
        return log.split(separator: "\n").filter { $0.contains("connection authorized") && $0.contains("application_name=pg_dump") }.count
    }

    /// A snapshot showing everything committed on the upstream so far.
    func freshSnapshot(_ container: ContainerFixture, _ upstream: UpstreamCluster) async throws {
        try upstream.sql("CHECKPOINT")
        let switched = try XCTUnwrap(upstream.scalar("SELECT pg_switch_wal()"))
        let replayed = await eventually(timeout: 60, interval: 0.2) {
            container.standbyScalar("SELECT pg_last_wal_replay_lsn() >= '\(switched)'::pg_lsn") == "t"
        }
        XCTAssertTrue(replayed, "the standby did not replay past \(switched)")
        try await container.ok(["snapshot", "create"])
        // The snapshot is consistent only at the end of the switched segment, and recovery
        // must read a record past that boundary: give the (otherwise idle) upstream one, and
        // wait until pg_receivewal has it in the archive's .partial segment.
        try upstream.sql("CREATE TABLE IF NOT EXISTS wal_tick (at timestamptz)")
        try upstream.sql("INSERT INTO wal_tick VALUES (now())")
        let flushed = await eventually(timeout: 60, interval: 0.1) {
            (try? upstream.scalar("SELECT bool_and(write_lsn >= pg_current_wal_lsn()) FROM pg_stat_replication")) == "t"
        }
        XCTAssertTrue(flushed, "pg_receivewal did not receive the newest WAL")
    }

    /// `pgarchive ARGS -C path -- COMMAND…`: the container option must come before `--`.
    func withCommand(_ container: ContainerFixture, _ arguments: [String], _ command: [String],
                     file: StaticString = #filePath, line: UInt = #line) async throws -> PGArchiveBinary.Result {
        let result = try await container.binary.run(arguments + ["-C", container.path, "--"] + command)
        XCTAssertEqual(result.exitCode, 0, "pgarchive \((arguments + command).joined(separator: " ")) failed: \(result)", file: file, line: line)
        return result
    }

    func clonesLeft(_ container: ContainerFixture) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: container.layout.clones)) ?? []).sorted()
    }

    func checksum(_ upstream: UpstreamCluster, database: String) throws -> String? {
        try upstream.scalar("SELECT count(*) || ':' || md5(string_agg(id || ':' || v, ',' ORDER BY id)) FROM big", database: database)
    }

    func testDumpsFromATemporaryCloneShareUnchangedFilesAndRestorePerTable() async throws {
        let upstream = try await UpstreamCluster(name: "dump", settings: ["log_connections": "on"])
        upstreams.append(upstream)
        try upstream.sql("CREATE DATABASE app")
        try upstream.sql("CREATE DATABASE third")
        let connection = try upstream.connect()
        try connection.execute("CREATE DATABASE \"" + Self.oddName.replacingOccurrences(of: "\"", with: "\"\"") + "\"")
        connection.close()
        for statement in ["CREATE TABLE big AS SELECT g AS id, g % 97 AS v FROM generate_series(1, 1000000) g",
                          "CREATE TABLE small (id int PRIMARY KEY, note text)",
                          "INSERT INTO small SELECT g, 'note ' || g FROM generate_series(1, 100) g"] {
            try upstream.sql(statement, database: "app")
        }
        let oddConnection = try Connection(conninfo: Conninfo([("host", upstream.socketDirectory), ("port", String(upstream.port)),
                                                               ("dbname", Self.oddName), ("user", "postgres")]).rendered)
        try oddConnection.execute("CREATE TABLE odd AS SELECT 1 AS id")
        oddConnection.close()
        try upstream.sql("CREATE TABLE t3 AS SELECT 3 AS id", database: "third")

        let container = try ContainerFixture(name: "c")
        containers.append(container)
        try await container.initContainer(upstream: upstream)
        try await freshSnapshot(container, upstream)

        // Run 1: every database, from a temporary clone; the upstream sees no pg_dump.
        let before = pgDumpConnections(upstream)
        let first = try await container.ok(["dump", "create"])
        XCTAssertEqual(pgDumpConnections(upstream), before, "pg_dump connected to the upstream")
        XCTAssertEqual(clonesLeft(container), [], "the temporary clone is gone")
        var runs = try await list(container)
        XCTAssertEqual(Set(runs.map(\.run.database)), ["app", "postgres", "third", Self.oddName], first.stdout)
        XCTAssertEqual(Set(runs.map(\.run.name)).count, 1, "all databases of one run share its name")
        let run1 = try XCTUnwrap(runs.first { $0.run.database == "app" })
        XCTAssertTrue(run1.run.source.hasPrefix("20"), "source is a snapshot: \(run1.run.source)")
        for entry in runs {
            XCTAssertTrue(FileManager.default.fileExists(atPath: entry.path + "/toc.dat"), entry.path)
            XCTAssertTrue(FileManager.default.fileExists(atPath: entry.path + "/globals.sql"), entry.path)
        }
        XCTAssertGreaterThan(run1.run.size, 5_000_000)

        let table = try await container.ok(["dump", "list"])
        XCTAssertTrue(table.stdout.hasPrefix("DATABASE "), table.stdout)
        XCTAssertTrue(table.stdout.contains("\n" + "app".padding(toLength: 21, withPad: " ", startingAt: 0) + run1.run.name), table.stdout)

        // Run 2, nothing changed: almost no new space.
        let second = try await container.ok(["dump", "create", "app"])
        runs = try await list(container, "app")
        XCTAssertEqual(runs.count, 2, second.stdout)
        let run2 = runs[1]
        let exclusive2 = try XCTUnwrap(run2.exclusiveBytes, "btrfs filesystem du gave no figure")
        XCTAssertLessThan(Double(exclusive2), 0.05 * Double(run1.run.size), "second run of an unchanged database: \(exclusive2) exclusive bytes vs \(run1.run.size)")
        XCTAssertGreaterThanOrEqual(run2.run.sharedFiles, run2.run.files - 3)

        // Change one small table; run 3: only its file (and the TOC) is new.
        try upstream.sql("UPDATE small SET note = 'changed' WHERE id = 1", database: "app")
        try await freshSnapshot(container, upstream)
        try await container.ok(["dump", "create", "app"])
        runs = try await list(container, "app")
        XCTAssertEqual(runs.count, 3)
        let run3 = runs[2]
        let files = try FileManager.default.contentsOfDirectory(atPath: run3.path).filter { $0.hasSuffix(".dat") && $0 != "toc.dat" }
        let changed = files.filter { name in
            FileManager.default.contents(atPath: run3.path + "/" + name) != FileManager.default.contents(atPath: run2.path + "/" + name)
        }
        XCTAssertEqual(changed.count, 1, "changed files: \(changed)")
        if let file = changed.first {
            XCTAssertTrue(String(decoding: FileManager.default.contents(atPath: run3.path + "/" + file) ?? Data(), as: UTF8.self).contains("changed"))
        }
        XCTAssertLessThan(Double(try XCTUnwrap(run3.exclusiveBytes)), 0.05 * Double(run1.run.size))

        // extract with a command, as a script, and by time.
        let toc = try await withCommand(container, ["dump", "extract", "app"], ["pg_restore", "-l"])
        XCTAssertTrue(toc.stdout.contains("TABLE DATA public big"), toc.stdout)
        let script = try await container.ok(["dump", "extract", "app"])
        XCTAssertTrue(script.stdout.contains("COPY public.small"), String(script.stdout.prefix(2000)))
        let between = DumpStore.runName(run2.run.time.addingTimeInterval(-0.5))
        let picked = try await withCommand(container, ["dump", "extract", "app", "--time", between], ["echo"])
        XCTAssertEqual(picked.stdout.trimmingCharacters(in: .whitespacesAndNewlines), run1.path)
        let odd = try await withCommand(container, ["dump", "extract", Self.oddName], ["pg_restore", "-l"])
        XCTAssertTrue(odd.stdout.contains("TABLE DATA public odd"), odd.stdout)

        // restore one table into a fresh database: identical rows, nothing else.
        try upstream.sql("CREATE DATABASE restored")
        try await container.ok(["dump", "restore", "app", "--into", "host=\(upstream.socketDirectory) port=\(upstream.port) dbname=restored user=postgres", "--table", "big"])
        XCTAssertEqual(try checksum(upstream, database: "restored"), try checksum(upstream, database: "app"))
        XCTAssertEqual(try upstream.scalar("SELECT count(*) FROM pg_tables WHERE tablename = 'small'", database: "restored"), "0")

        // Clear errors.
        let unknown = try await container.run(["dump", "create", "nosuch"])
        XCTAssertNotEqual(unknown.exitCode, 0)
        XCTAssertTrue(unknown.stderr.contains("no database 'nosuch'"), unknown.stderr)
        let noRuns = try await container.run(["dump", "extract", "nosuch"])
        XCTAssertNotEqual(noRuns.exitCode, 0)
        XCTAssertTrue(noRuns.stderr.contains("there are no dumps of database 'nosuch'"), noRuns.stderr)
        let password = try await container.run(["dump", "restore", "app", "--into", "dbname=restored password=secret"])
        XCTAssertNotEqual(password.exitCode, 0)
        XCTAssertTrue(password.stderr.contains("contains a password"), password.stderr)

        // A failure after the clone started still removes the clone, and says so: a database
        // the standby has, dropped in WAL only the clone replays (the .partial segment).
        try upstream.sql("CREATE DATABASE late")
        let lsn = try XCTUnwrap(upstream.scalar("SELECT pg_switch_wal()"))
        _ = await eventually(timeout: 60, interval: 0.2) { container.standbyScalar("SELECT pg_last_wal_replay_lsn() >= '\(lsn)'::pg_lsn") == "t" }
        try upstream.sql("DROP DATABASE late")
        let dropReceived = await eventually(timeout: 60, interval: 0.1) {
            (try? upstream.scalar("SELECT bool_and(write_lsn >= pg_current_wal_lsn()) FROM pg_stat_replication")) == "t"
        }
        XCTAssertTrue(dropReceived, "pg_receivewal did not receive the DROP DATABASE")
        let late = try await container.run(["dump", "create", "late"])
        XCTAssertNotEqual(late.exitCode, 0)
        XCTAssertTrue(late.stderr.contains("no database 'late' on snapshot"), late.stderr)
        XCTAssertTrue(late.stderr.contains("was stopped and deleted"), late.stderr)
        XCTAssertFalse(late.stderr.contains("delete it with"), late.stderr)
        XCTAssertEqual(clonesLeft(container), [])

        // --from-upstream does connect to the upstream (so the check above can fail).
        try await container.ok(["dump", "create", "third", "--from-upstream"])
        XCTAssertGreaterThan(pgDumpConnections(upstream), before)
        let listed1 = try await list(container, "third")
        XCTAssertEqual(listed1.last?.run.source, "upstream")

        // kill -9 mid-way: no run looks complete, the next dump cleans up.
        let completeBefore = try await list(container).count
        let process = Process()
        process.executableURL = URL(fileURLWithPath: container.binary.path)
        process.arguments = ["dump", "create", "app", "-C", container.path]
        var environment = ProcessInfo.processInfo.environment
        for (key, value) in container.binary.environment { environment[key] = value ?? nil }
        process.environment = environment
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        processes.append(process)
        let appDir = container.layout.dumps + "/app"
        let midway = await eventually(timeout: 120, interval: 0.01) {
            ((try? FileManager.default.contentsOfDirectory(atPath: appDir)) ?? []).contains { $0.hasPrefix(".incomplete-") }
        }
        XCTAssertTrue(midway, "dump create never started writing")
        XCTAssertTrue(process.isRunning, "dump create finished before it could be killed")
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        let listed2 = try await list(container)
        XCTAssertEqual(listed2.count, completeBefore, "an interrupted run is listed")
        XCTAssertEqual(clonesLeft(container), ["dump-\(process.processIdentifier)"])
        try await container.ok(["dump", "create", "app"])
        XCTAssertEqual(clonesLeft(container), [])
        XCTAssertFalse(((try? FileManager.default.contentsOfDirectory(atPath: appDir)) ?? []).contains { $0.hasPrefix(".") }, "leftovers remain")
        let listed3 = try await list(container, "app")
        XCTAssertEqual(listed3.count, 4)

        // expire keeps dump_keep runs per database.
        try "dump_keep = 2\n".appendLine(to: container.layout.configFile)
        let show = try await container.ok(["dump", "expire", "--show"])
        XCTAssertEqual(show.stdout.split(separator: "\n").filter { $0.hasPrefix("would expire app") }.count, 2, show.stdout)
        let listed4 = try await list(container, "app")
        XCTAssertEqual(listed4.count, 4, "--show deletes nothing")
        let newest = try await list(container, "app").suffix(2).map(\.run.name)
        try await container.ok(["dump", "expire"])
        let listed5 = try await list(container, "app")
        XCTAssertEqual(listed5.map(\.run.name), newest)
        let listed6 = try await list(container, "third")
        XCTAssertEqual(listed6.count, 2)

        // cron dump: create then expire, logged.
        try await container.ok(["cron", "dump", "--no-wait"])
        let listed7 = try await list(container, "app")
        XCTAssertEqual(listed7.count, 2)
        XCTAssertEqual(clonesLeft(container), [])
        let log = try String(contentsOfFile: container.layout.logs + "/cron_dump.log", encoding: .utf8)
        XCTAssertTrue(log.contains("cron dump finished"), log)
    }
}

private extension String {
    func appendLine(to path: String) throws {
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: path))
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(utf8))
    }
}
