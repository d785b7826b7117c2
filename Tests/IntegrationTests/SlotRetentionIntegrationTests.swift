import Foundation
import PGArchiveCore
import PGArchiveTestSupport
import Postgres
import XCTest

/// Issue 18 item 16 (16 MB segments, max_slot_wal_keep_size 160 MB): the slot keeps WAL on the upstream while nothing receives it. With a
/// bounded max_slot_wal_keep_size, `check` warns as the slot fills it, is CRITICAL once the
/// upstream gives the slot up, status and metrics say the archive has a gap and that
/// `container resync` is the remedy, and resync recovers.
final class SlotRetentionIntegrationTests: XCTestCase {
    var upstream: UpstreamCluster?
    var container: ContainerFixture?

    override func tearDown() async throws {
        await container?.destroy()
        await upstream?.destroy()
    }

    /// The level and detail of check's "upstream WAL kept by slot" line.
    func slotLine(_ container: ContainerFixture) async throws -> (level: String, detail: String, output: String) {
        let check = try await container.run(["check"])
        guard let line = check.stdout.split(separator: "\n").first(where: { $0.contains("upstream WAL kept by slot:") }) else {
            return ("missing", "", check.stdout + check.stderr)
        }
        let rest = line.components(separatedBy: "upstream WAL kept by slot: ")[1]
        let level = String(rest.prefix { $0 != " " })
        return (level, rest, check.stdout)
    }

    /// Writes about `segments` WAL segments on the upstream (rows, then a segment switch each).
    func writeWAL(_ upstream: UpstreamCluster, segments: Int) throws {
        for _ in 0..<segments {
            try upstream.sql("INSERT INTO filler SELECT g, repeat('x', 200) FROM generate_series(1, 20000) g")
            _ = try upstream.scalar("SELECT pg_switch_wal()")
        }
    }

    /// PostgreSQL 18 invalidates a slot nothing streamed from for idle_replication_slot_timeout
    /// (wal_status lost, invalidation_reason idle_timeout): status, check and the watchdog name
    /// that setting, not max_slot_wal_keep_size. Runs in make test's PostgreSQL 18 leg.
    func testIdleTimeoutInvalidationOnPostgreSQL18IsNamedAsSuch() async throws {
        guard UpstreamCluster.majorVersion >= 18 else { throw XCTSkip("idle_replication_slot_timeout is new in PostgreSQL 18") }
        let upstream = try await UpstreamCluster(name: "slotidle")
        self.upstream = upstream
        let container = try ContainerFixture(name: "c")
        self.container = container
        try await container.ok(["container", "init", "--upstream", upstream.conninfo])
        try await container.ok(["wal", "stop"])
        try upstream.sql("ALTER SYSTEM SET idle_replication_slot_timeout = '1s'")
        _ = try upstream.scalar("SELECT pg_reload_conf()")
        try await Task.sleep(for: .seconds(2))
        try upstream.sql("CHECKPOINT")
        XCTAssertEqual(try upstream.scalar("SELECT wal_status || ' ' || invalidation_reason FROM pg_replication_slots"), "lost idle_timeout")

        let json = try await container.run(["container", "status", "--json"])
        try await StatusSchema.assertValid(json.stdout)
        let status = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        XCTAssertEqual(status?["slotInvalidationReason"] as? String, "idle_timeout", json.stdout)
        let line = try await slotLine(container)
        XCTAssertEqual(line.level, "CRITICAL", line.output)
        XCTAssertTrue(line.detail.contains("idle_replication_slot_timeout") && line.detail.contains("invalidation_reason idle_timeout"), line.detail)
        XCTAssertFalse(line.detail.contains("max_slot_wal_keep_size exceeded"), line.detail)
    }

    func testStoppedReceiverDrivesCheckFromOKToWarningToCriticalAndResyncRecovers() async throws {
        let upstream = try await UpstreamCluster(name: "slotkeep", settings: ["max_slot_wal_keep_size": "'160MB'", "max_wal_size": "'32MB'", "min_wal_size": "'32MB'"])
        self.upstream = upstream
        try upstream.sql("CREATE TABLE filler (id int, pad text)")
        let container = try ContainerFixture(name: "c")
        self.container = container
        let initResult = try await container.ok(["container", "init", "--upstream", upstream.conninfo])
        XCTAssertFalse(initResult.stderr.contains("max_slot_wal_keep_size = -1"), initResult.stderr)

        // (pg_receivewal reports its flush position every few seconds: until then the slot
        // may hold the base backup's segments.)
        var healthy = try await slotLine(container)
        for _ in 0..<30 where healthy.level != "OK" {
            try await Task.sleep(for: .seconds(1))
            healthy = try await slotLine(container)
        }
        XCTAssertEqual(healthy.level, "OK", healthy.output)
        XCTAssertTrue(healthy.detail.contains("max_slot_wal_keep_size 160.0 MiB"), healthy.detail)
        let json = try await container.run(["container", "status", "--json"])
        let status = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        XCTAssertEqual(status?["upstreamMaxSlotWALKeepSizeBytes"] as? Int, 160 << 20, json.stdout)
        XCTAssertNotNil(status?["slotRetainedBytes"] as? Int, json.stdout)
        XCTAssertNotNil(status?["slotSafeWALSizeBytes"] as? Int, json.stdout)

        // The receiver stops (a weekend, a dead archive host): the slot holds the upstream's WAL.
        try await container.ok(["wal", "stop"])
        try writeWAL(upstream, segments: 6)
        let filling = try await slotLine(container)
        XCTAssertEqual(filling.level, "WARNING", filling.output)
        XCTAssertTrue(filling.detail.contains("more than half of max_slot_wal_keep_size"), filling.detail)
        let metrics = try await container.ok(["metrics"])
        XCTAssertTrue(metrics.stdout.contains("pgarchive_slot_retained_bytes{"), metrics.stdout)
        XCTAssertTrue(metrics.stdout.contains("pgarchive_slot_safe_wal_size_bytes{"), metrics.stdout)

        // Past the limit, the upstream's next checkpoint gives the slot up: CRITICAL, and a gap.
        try writeWAL(upstream, segments: 6)
        let beyond = try await slotLine(container)
        XCTAssertEqual(beyond.level, "CRITICAL", beyond.output)
        try upstream.sql("CHECKPOINT")
        let lost = await eventually(timeout: 30) { (try? upstream.scalar("SELECT wal_status FROM pg_replication_slots")) == "lost" }
        XCTAssertTrue(lost, "the upstream did not invalidate the slot")
        let critical = try await slotLine(container)
        XCTAssertEqual(critical.level, "CRITICAL", critical.output)
        XCTAssertTrue(critical.detail.contains("the archive now has a gap") && critical.detail.contains("pgarchive container resync"), critical.detail)
        let text = try await container.run(["container", "status"])
        XCTAssertTrue(text.stdout.contains("the archive now has a gap") && text.stdout.contains("`pgarchive container resync`"), text.stdout)
        let lostMetrics = try await container.ok(["metrics"])
        XCTAssertTrue(lostMetrics.stdout.contains("pgarchive_slot_lost{container=\"\(container.layout.root)\"} 1"), lostMetrics.stdout)

        // The watchdog does not retry pg_receivewal on a lost slot: it says what happened.
        let watchdog = try await container.run(["cron", "watchdog"])
        XCTAssertEqual(watchdog.exitCode, 1, "\(watchdog)")
        XCTAssertTrue(watchdog.stderr.contains("the archive now has a gap") && watchdog.stderr.contains("`pgarchive container resync`"), watchdog.stderr)
        XCTAssertFalse(watchdog.stderr.contains("restarting it"), watchdog.stderr)

        // resync: a new slot and base backup, streaming again.
        try await container.ok(["container", "resync"])
        let recovered = try await slotLine(container)
        XCTAssertEqual(recovered.level, "OK", recovered.output)
        // The next watchdog run finds everything streaming (and replaces its failed last run).
        let calm = try await container.run(["cron", "watchdog"])
        XCTAssertEqual(calm.exitCode, 0, "\(calm)")
        let after = try await container.run(["container", "status"])
        XCTAssertFalse(after.stdout.contains("gap"), after.stdout)
        XCTAssertEqual(try upstream.scalar("SELECT wal_status IN ('reserved', 'extended') FROM pg_replication_slots"), "t")
    }
}
