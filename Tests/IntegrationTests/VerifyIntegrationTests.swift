import Foundation
import PGArchiveCore
import PGArchiveTestSupport
import Postgres
import XCTest

/// `pgarchive verify` on a real container: each offline check names what it found, and
/// `verify --restore` restores the newest snapshot, runs pg_amcheck, counts every table and
/// leaves nothing behind; status, metrics and check show the result.
final class VerifyIntegrationTests: XCTestCase {
    var upstream: UpstreamCluster?
    var container: ContainerFixture?

    override func tearDown() async throws {
        await container?.destroy()
        await upstream?.destroy()
    }

    func start(_ name: String) async throws -> (UpstreamCluster, ContainerFixture) {
        let u = try await UpstreamCluster(name: name)
        upstream = u
        let c = try ContainerFixture()
        container = c
        return (u, c)
    }

    /// Validates `container status --json` against docs/status.schema.json (python3-jsonschema).
    func assertValid(_ json: String, file: StaticString = #filePath, line: UInt = #line) async throws {
        let schema = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/status.schema.json").path
        let probe = try await ToolCommand(executable: "/usr/bin/python3", arguments: ["-c", "import jsonschema"]).run()
        if probe.exitCode != 0 {
            try IntegrationEnvironment.unavailable("python3-jsonschema is not installed (make test installs it)", file: file, line: line)
        }
        let script = "import json,sys,jsonschema; jsonschema.validate(json.load(sys.stdin), json.load(open(sys.argv[1]))); print('valid')"
        let result = try await ToolCommand(executable: "/usr/bin/python3", arguments: ["-c", script, schema]).run(input: json)
        XCTAssertEqual(result.exitCode, 0, "status --json does not match the schema:\n\(result.standardError)\n\(json)", file: file, line: line)
    }

    func verify(_ c: ContainerFixture, _ extra: [String] = []) async throws -> (exit: Int32, report: VerifyReport, text: String) {
        let json = try await c.run(["verify", "--json"] + extra)
        let report = try SnapshotStore.decoder.decode(VerifyReport.self, from: Data(json.stdout.utf8))
        XCTAssertEqual(report.exitCode, json.exitCode, "\(json)")
        return (json.exitCode, report, json.stdout)
    }

    func testOfflineChecksNameEachProblem() async throws {
        let (u, c) = try await start("verify")
        try await c.initContainer(upstream: u)
        try u.sql("CREATE TABLE t (i int)")
        for _ in 0..<4 {
            try u.sql("INSERT INTO t VALUES (1)")
            _ = try u.scalar("SELECT pg_switch_wal()")
        }
        let archive = WALArchive(directory: c.layout.walArchive)
        let complete = await eventually(timeout: 30) {
            ((try? archive.entries()) ?? []).filter { !$0.name.isPartial && !$0.name.isHistory }.count >= 5
        }
        XCTAssertTrue(complete)

        // Healthy: exit 0, text and JSON.
        let text = try await c.run(["verify"])
        XCTAssertEqual(text.exitCode, 0, "\(text)")
        XCTAssertTrue(text.stdout.contains("contiguous"), text.stdout)
        XCTAssertTrue(text.stdout.contains("result: PASSED"), text.stdout)
        var result = try await verify(c)
        XCTAssertEqual(result.exit, 0, result.text)
        XCTAssertEqual(result.report.problems, [])
        XCTAssertGreaterThanOrEqual(result.report.segmentsChecked, 4)
        XCTAssertEqual(result.report.snapshotsChecked, 1)

        // Compressed segments verify; one corrupted is named.
        try await c.ok(["wal", "compress"])
        result = try await verify(c)
        XCTAssertEqual(result.exit, 0, result.text)
        let compressed = try archive.entries().filter { $0.name.compression != nil }
        XCTAssertGreaterThanOrEqual(compressed.count, 3)
        XCTAssertEqual(result.report.compressedSegmentsChecked, compressed.count)
        let victim = compressed[compressed.count / 2]
        let original = try Data(contentsOf: URL(fileURLWithPath: victim.path))
        var corrupt = original
        let middle = corrupt.count / 2
        for i in middle..<min(corrupt.count - 8, middle + 16) { corrupt[i] ^= 0x5A }
        try corrupt.write(to: URL(fileURLWithPath: victim.path))
        result = try await verify(c)
        XCTAssertEqual(result.exit, 1, result.text)
        XCTAssertEqual(result.report.problems.count, 1, "\(result.report.problems)")
        XCTAssertTrue(result.report.problems.first?.hasPrefix("compressed WAL segment \(victim.name.fileName) is corrupt") == true, "\(result.report.problems)")
        try original.write(to: URL(fileURLWithPath: victim.path))
        result = try await verify(c)
        XCTAssertEqual(result.exit, 0, result.text)

        // A segment deleted between two others is named.
        let aside = c.scratch + "/aside"
        try FileManager.default.moveItem(atPath: victim.path, toPath: aside)
        let missingText = try await c.run(["verify"])
        XCTAssertEqual(missingText.exitCode, 1, "\(missingText)")
        XCTAssertTrue(missingText.stdout.contains("problem: WAL segment \(victim.name.baseName) is missing in wal_archive/"), missingText.stdout)
        try FileManager.default.moveItem(atPath: aside, toPath: victim.path)

        // A snapshot whose metadata disagrees with its pg_control is named.
        let snapshot = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: c.layout.snapshots)
            .filter { $0.hasSuffix(".json") }.map { String($0.dropLast(5)) }.sorted().first)
        let metadataPath = c.layout.snapshot(snapshot) + ".json"
        let metadata = try String(contentsOfFile: metadataPath, encoding: .utf8)
        let metadataObject = try SnapshotStore.decoder.decode(SnapshotMetadata.self, from: Data(metadata.utf8))
        let wrong = LSN(metadataObject.redoLSN.value + 0x100)
        try metadata.replacingOccurrences(of: "\"\(metadataObject.redoLSN)\"", with: "\"\(wrong)\"")
            .write(toFile: metadataPath, atomically: true, encoding: .utf8)
        result = try await verify(c)
        XCTAssertEqual(result.exit, 1, result.text)
        XCTAssertTrue(result.report.problems.contains { $0.hasPrefix("snapshot \(snapshot): metadata disagrees with its pg_control (REDO LSN \(wrong)") },
                      "\(result.report.problems)")
        try metadata.write(toFile: metadataPath, atomically: true, encoding: .utf8)

        // A leftover of an interrupted snapshot create is reported.
        try FileManager.default.createDirectory(atPath: c.layout.snapshots + "/.creating-999999", withIntermediateDirectories: false)
        result = try await verify(c)
        XCTAssertEqual(result.exit, 1, result.text)
        XCTAssertEqual(result.report.problems.count, 1, "\(result.report.problems)")
        XCTAssertTrue(result.report.problems.first?.hasPrefix("snapshots/.creating-999999 is left by an interrupted snapshot create") == true, "\(result.report.problems)")

        // The failed verification is shown: check critical, status names it.
        let check = try await c.run(["check"])
        XCTAssertEqual(check.exitCode, 2, "\(check)")
        XCTAssertTrue(check.stdout.contains("\tlast verification: CRITICAL (offline checks failed at"), check.stdout)
        let status = try await c.run(["container", "status"])
        XCTAssertTrue(status.stdout.contains("last verify:      FAILED"), status.stdout)

        try FileManager.default.removeItem(atPath: c.layout.snapshots + "/.creating-999999")
        result = try await verify(c)
        XCTAssertEqual(result.exit, 0, result.text)

        // cron verify runs the offline checks and records its run.
        try await c.ok(["cron", "verify", "--no-wait"])
        let run = try SnapshotStore.decoder.decode(CronRun.self, from: Data(contentsOf: URL(fileURLWithPath: c.layout.run + "/cron_verify.json")))
        XCTAssertEqual(run.result, .ok, run.message)
        XCTAssertTrue(run.message.hasPrefix("passed"), run.message)
    }

    func testRestorePassesLeavesNothingAndIsShown() async throws {
        let (u, c) = try await start("verifyrestore")
        try await u.pgbenchInit(scale: 1)
        try u.sql("CREATE DATABASE shop")
        try u.sql("CREATE TABLE orders (id int PRIMARY KEY, note text)", database: "shop")
        try u.sql("INSERT INTO orders SELECT g, 'n' || g FROM generate_series(1, 3) g", database: "shop")
        try await c.initContainer(upstream: u)
        // Rows written after the snapshot: the restore replays WAL up to the newest.
        try u.sql("INSERT INTO orders VALUES (4, 'after the snapshot')", database: "shop")
        _ = try u.scalar("SELECT pg_switch_wal()")

        if !UpstreamCluster.hasAmcheck {
            // A build without amcheck (the version matrix's): verify fails and says why and
            // what to do, rather than pass without having checked for corruption.
            let missing = try await verify(c, ["--restore"])
            XCTAssertEqual(missing.exit, 1, missing.text)
            XCTAssertTrue(missing.report.problems.contains { $0.contains("pg_amcheck cannot run: the PostgreSQL \(UpstreamCluster.majorVersion) programs in \(UpstreamCluster.bindir) have no amcheck extension") && $0.contains("set verify_amcheck = off") }, missing.text)
            try c.skipAmcheckWhereUnavailable()
        }
        let result = try await verify(c, ["--restore"])
        XCTAssertEqual(result.exit, 0, result.text)
        let restore = try XCTUnwrap(result.report.restores.first, result.text)
        XCTAssertEqual(result.report.restores.count, 1)
        XCTAssertTrue(restore.passed, "\(restore)")
        XCTAssertEqual(restore.amcheckRan, UpstreamCluster.hasAmcheck)
        XCTAssertEqual(restore.amcheckSkipped, UpstreamCluster.hasAmcheck ? nil : "verify_amcheck = off")
        if !UpstreamCluster.hasAmcheck { XCTAssertTrue(result.text.contains("pg_amcheck NOT run (verify_amcheck = off)"), result.text) }
        XCTAssertEqual(Set(restore.databases), ["postgres", "shop"])
        // pgbench_accounts 100000, branches 1, tellers 10, history 0; orders 4.
        XCTAssertEqual(restore.tablesCounted, 5, "\(restore)")
        XCTAssertEqual(restore.rowsCounted, 100_015, "\(restore)")
        XCTAssertTrue(restore.clone.hasPrefix("verify-"))

        // The temporary clone is gone.
        let clones = (try? FileManager.default.contentsOfDirectory(atPath: c.layout.clones)) ?? []
        XCTAssertEqual(clones.filter { $0.hasPrefix("verify-") }, [], "\(clones)")
        let list = try await c.ok(["clone", "list"])
        XCTAssertFalse(list.stdout.contains("verify-"), list.stdout)

        // status --json (schema-valid), metrics and check show it.
        let status = try await c.run(["container", "status", "--json"])
        let decoded = try SnapshotStore.decoder.decode(ContainerStatus.self, from: Data(status.stdout.utf8))
        let last = try XCTUnwrap(decoded.lastVerify, status.stdout)
        XCTAssertEqual(last.result, .passed)
        XCTAssertTrue(last.restore)
        XCTAssertEqual(last.snapshots, [restore.snapshot])
        try await assertValid(status.stdout)
        let text = try await c.run(["container", "status"])
        XCTAssertTrue(text.stdout.contains("last verify:      PASSED"), text.stdout)
        let metrics = try await c.ok(["metrics"])
        XCTAssertTrue(metrics.stdout.contains("pgarchive_verify_last_result{container=\"\(c.layout.root)\"} 0\n"), metrics.stdout)
        XCTAssertTrue(metrics.stdout.contains("pgarchive_verify_last_restore{container=\"\(c.layout.root)\"} 1\n"), metrics.stdout)
        XCTAssertTrue(metrics.stdout.contains("pgarchive_verify_last_run_timestamp_seconds{container=\"\(c.layout.root)\"} "), metrics.stdout)
        let check = try await c.run(["check"])
        XCTAssertTrue(check.stdout.contains("\tlast verification: OK (restore test passed at"), check.stdout)
        try await Task.sleep(for: .milliseconds(1100))
        let stale = try await c.run(["check", "--verify-max-age", "1s"])
        XCTAssertTrue(stale.stdout.contains("\tlast verification: WARNING"), stale.stdout)
    }
}
