import Foundation
import PGArchiveCore
import PGArchiveTestSupport
import Postgres
import XCTest

/// `container status --json` against docs/status.schema.json in each health state, and
/// `pgarchive check` failing with the right line for each fault.
final class StatusCheckIntegrationTests: XCTestCase {
    var upstream: UpstreamCluster?
    var container: ContainerFixture?

    override func tearDown() async throws {
        await container?.destroy()
        await upstream?.destroy()
    }

    static let schema = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("docs/status.schema.json").path

    /// Validates with Python's jsonschema (Debian python3-jsonschema, installed by make test).
    func assertValid(_ json: String, file: StaticString = #filePath, line: UInt = #line) async throws {
        let python = "/usr/bin/python3"
        let probe = try await ToolCommand(executable: python, arguments: ["-c", "import jsonschema"]).run()
        if probe.exitCode != 0 {
            try IntegrationEnvironment.unavailable("python3-jsonschema is not installed (make test installs it)", file: file, line: line)
        }
        let script = "import json,sys,jsonschema; jsonschema.validate(json.load(sys.stdin), json.load(open(sys.argv[1]))); print('valid')"
        let result = try await ToolCommand(executable: python, arguments: ["-c", script, Self.schema]).run(input: json)
        XCTAssertEqual(result.exitCode, 0, "status --json does not match docs/status.schema.json:\n\(result.standardError)\n\(json)", file: file, line: line)
    }

    func status(_ c: ContainerFixture) async throws -> (exit: Int32, json: String, status: ContainerStatus) {
        let result = try await c.run(["container", "status", "--json"])
        let decoded = try SnapshotStore.decoder.decode(ContainerStatus.self, from: Data(result.stdout.utf8))
        return (result.exitCode, result.stdout, decoded)
    }

    func start() async throws -> (UpstreamCluster, ContainerFixture) {
        let u = try await UpstreamCluster(name: "status")
        upstream = u
        let c = try ContainerFixture()
        container = c
        try await c.initContainer(upstream: u)
        return (u, c)
    }

    func testStatusJSONMatchesSchemaWhenHealthyDegradedAndDown() async throws {
        let (_, c) = try await start()
        _ = try await c.ok(["cron", "watchdog", "--no-wait"]) // a cron run in the JSON too

        let healthy = try await status(c)
        XCTAssertEqual(healthy.exit, 0, healthy.json)
        XCTAssertEqual(healthy.status.health, .ok)
        XCTAssertEqual(healthy.status.problems, [])
        XCTAssertEqual(healthy.status.snapshotCount, 1)
        XCTAssertEqual(healthy.status.cronRuns.map(\.job), ["watchdog"])
        try await assertValid(healthy.json)

        let pid = try XCTUnwrap(c.receiverPID())
        kill(pid, SIGKILL)
        XCTAssertTrue(Processes.waitForExit(pid, timeout: 10))
        let degraded = try await status(c)
        XCTAssertEqual(degraded.exit, 1, degraded.json)
        XCTAssertEqual(degraded.status.health, .degraded)
        XCTAssertEqual(degraded.status.receiver.state, "stale")
        XCTAssertTrue(degraded.status.problems.contains { $0.hasPrefix("pg_receivewal is stale") }, "\(degraded.status.problems)")
        try await assertValid(degraded.json)

        try await c.ok(["container", "stop"])
        let down = try await status(c)
        XCTAssertEqual(down.exit, 2, down.json)
        XCTAssertEqual(down.status.health, .down)
        XCTAssertEqual(down.status.standby.state, "stopped")
        try await assertValid(down.json)
    }

    func checkLine(_ output: String, _ name: String) -> String? {
        output.split(separator: "\n").first { $0.hasPrefix("\t\(name): ") }.map(String.init)
    }

    func testCheckNamesEachFault() async throws {
        let (u, c) = try await start()
        var result = try await c.run(["check"])
        XCTAssertEqual(result.exitCode, 0, "\(result)")
        XCTAssertTrue(result.stdout.hasPrefix("PGARCHIVE OK: "), result.stdout)

        // A snapshot older than the bound: warning on that line only.
        try await Task.sleep(for: .seconds(2))
        result = try await c.run(["check", "--snapshot-max-age", "1s"])
        XCTAssertEqual(result.exitCode, 1, "\(result)")
        XCTAssertTrue(result.stdout.hasPrefix("PGARCHIVE WARNING: "), result.stdout)
        XCTAssertTrue(checkLine(result.stdout, "newest snapshot")?.contains("WARNING") == true, result.stdout)
        XCTAssertTrue(checkLine(result.stdout, "upstream reachable")?.contains(": OK") == true, result.stdout)

        // A missing segment between two that exist: critical, named.
        try u.sql("CREATE TABLE t (i int)")
        for _ in 0..<3 {
            try u.sql("INSERT INTO t VALUES (1)")
            _ = try u.scalar("SELECT pg_switch_wal()")
        }
        let archive = WALArchive(directory: c.layout.walArchive)
        let complete = await eventually(timeout: 30) {
            ((try? archive.entries()) ?? []).filter { !$0.name.isPartial && !$0.name.isHistory }.count >= 4
        }
        XCTAssertTrue(complete)
        let segments = try archive.entries().filter { !$0.name.isPartial && !$0.name.isHistory }
        let victim = segments[segments.count - 2]
        try FileManager.default.removeItem(atPath: victim.path)
        result = try await c.run(["check"])
        XCTAssertEqual(result.exitCode, 2, "\(result)")
        XCTAssertTrue(result.stdout.hasPrefix("PGARCHIVE CRITICAL: "), result.stdout)
        XCTAssertEqual(checkLine(result.stdout, "no WAL gap"), "\tno WAL gap: CRITICAL (1 segment(s) missing, first \(victim.name.fileName))", result.stdout)
        let gapStatus = try await status(c)
        XCTAssertEqual(gapStatus.status.missingSegments, [victim.name.fileName])
        XCTAssertEqual(gapStatus.exit, 1)

        // The receiver killed: WAL is not arriving.
        let pid = try XCTUnwrap(c.receiverPID())
        kill(pid, SIGKILL)
        XCTAssertTrue(Processes.waitForExit(pid, timeout: 10))
        result = try await c.run(["check"])
        XCTAssertEqual(result.exitCode, 2, "\(result)")
        XCTAssertEqual(checkLine(result.stdout, "WAL arriving"), "\tWAL arriving: CRITICAL (pg_receivewal is stale)", result.stdout)
    }

    /// `metrics` parsed by a real Prometheus text parser (Python's prometheus_client).
    func testMetricsParseWithPrometheusClient() async throws {
        let (_, c) = try await start()
        let probe = try await ToolCommand(executable: "/usr/bin/python3", arguments: ["-c", "import prometheus_client"]).run()
        if probe.exitCode != 0 {
            try IntegrationEnvironment.unavailable("python3-prometheus-client is not installed (make test installs it)")
        }
        let metrics = try await c.ok(["metrics"])
        let script = """
            import sys
            from prometheus_client.parser import text_string_to_metric_families
            for family in text_string_to_metric_families(sys.stdin.read()):
                for sample in family.samples:
                    print(family.type, sample.name, sample.labels.get("job", ""), sample.value)
            """
        let parsed = try await ToolCommand(executable: "/usr/bin/python3", arguments: ["-c", script]).run(input: metrics.stdout)
        XCTAssertEqual(parsed.exitCode, 0, "prometheus_client could not parse the output:\n\(parsed.standardError)\n\(metrics.stdout)")
        let samples = parsed.standardOutput.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        func value(_ name: String) -> Double? { samples.first { $0.count >= 3 && $0[1] == name }.flatMap { Double($0.last!) } }
        XCTAssertEqual(value("pgarchive_up"), 1)
        XCTAssertEqual(value("pgarchive_health"), 0)
        XCTAssertEqual(value("pgarchive_receiver_running"), 1)
        XCTAssertEqual(value("pgarchive_standby_running"), 1)
        XCTAssertEqual(value("pgarchive_snapshots"), 1)
        XCTAssertEqual(value("pgarchive_wal_missing_segments"), 0)
        XCTAssertTrue(samples.allSatisfy { $0.first == "gauge" }, parsed.standardOutput)
    }
}
