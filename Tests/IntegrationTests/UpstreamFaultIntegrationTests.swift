import Foundation
import PGArchiveCore
import PGArchiveTestSupport
import Postgres
import XCTest

/// Faults of the upstream, with real processes: a `kill -9` of its postmaster under load
/// (asynchronous archive: nothing pg_receivewal had flushed is lost; synchronous mode: no
/// commit the upstream acknowledged is lost), and an upstream that is down for longer than
/// a cron cycle (jobs report it, do not pile up, and everything resumes by itself).
final class UpstreamFaultIntegrationTests: XCTestCase {
    var upstreams: [UpstreamCluster] = []
    var containers: [ContainerFixture] = []

    override func tearDown() async throws {
        // purge --force stops the clones and the daemons even with the upstream dead.
        for container in containers.reversed() { await container.destroy() }
        for upstream in upstreams.reversed() { await upstream.destroy() }
        containers = []
        upstreams = []
    }

    func makeUpstream(_ name: String) async throws -> UpstreamCluster {
        let upstream = try await UpstreamCluster(name: name)
        upstreams.append(upstream)
        try upstream.sql("CREATE TABLE markers (id int PRIMARY KEY, note text, at timestamptz DEFAULT now())")
        return upstream
    }

    func makeContainer(_ upstream: UpstreamCluster, _ name: String = "c") async throws -> ContainerFixture {
        let container = try ContainerFixture(name: name)
        containers.append(container)
        try await container.initContainer(upstream: upstream)
        return container
    }

    // MARK: - upstream crash under load

    func testUpstreamCrashUnderLoadKeepsEveryMarkerTheReceiverFlushed() async throws {
        let upstream = try await makeUpstream("crash-async")
        try await upstream.pgbenchInit(scale: 1)
        let container = try await makeContainer(upstream)
        let slot = try container.config().slot
        XCTAssertEqual(try container.config().synchronous, false)
        try assertReceiverArgv(container, synchronous: false)
        let connected = await eventually(timeout: 30) { (try? self.syncState(upstream, slot)) != nil }
        XCTAssertTrue(connected, "pg_receivewal does not show up in pg_stat_replication as application_name \(slot)")
        let status = try await statusJSON(container)
        XCTAssertEqual(status.receiverApplicationName, slot)
        XCTAssertEqual(status.receiverSyncState, "async")
        XCTAssertEqual(status.synchronous, false)

        // A segment switch every 3 s, so the receiver closes (and so flushes) segments and
        // reports positions the markers can be compared with. (More often and pg_receivewal,
        // writing 16 MB per segment, falls far behind.)
        let log = try await crashUnderLoad(upstream, slot: slot, seconds: 25, switchEvery: 3)
        let flushed = try XCTUnwrap(log.maxFlush, "never saw a flush_lsn of \(slot) in pg_stat_replication (\(log.flushSamples) samples)")
        // Sound: a marker's upper bound is ≥ its commit record's end, so upper ≤ flushed means
        // the receiver had the whole commit record.
        let required = log.markers.filter { $0.upper <= flushed }.map(\.id)
        XCTAssertGreaterThanOrEqual(required.count, 20, "too few markers below the receiver's flush position \(flushed) for the test to mean something: \(log.summary)")

        let ids = try await latestCloneMarkerIDs(container, "after-crash")
        let missing = Set(required).subtracting(ids)
        XCTAssertTrue(missing.isEmpty, "markers the receiver had flushed (commit ≤ \(flushed)) are missing from the --latest clone: \(missing.sorted().prefix(20)) (\(missing.count) of \(required.count)); \(log.summary)")
        XCTAssertGreaterThanOrEqual(ids.count, required.count)
        // Never a marker the upstream did not get as far as inserting.
        XCTAssertLessThanOrEqual(ids.max() ?? 0, log.attempted, "the clone has a marker that was never written")
        print("upstream crash (async): \(log.summary); \(required.count) markers at or below flush_lsn \(flushed), all \(required.count) in the clone, which has \(ids.count)")
        try await restartAfterCrash(upstream)
    }

    func testUpstreamCrashUnderLoadInSynchronousModeLosesNoCommittedMarker() async throws {
        let upstream = try await makeUpstream("crash-sync")
        try await upstream.pgbenchInit(scale: 1)
        let container = try await makeContainer(upstream)
        let slot = try container.config().slot

        // synchronous = on, and the receiver restarted to take it.
        let configText = try String(contentsOfFile: container.layout.configFile, encoding: .utf8)
        let lines = configText.split(separator: "\n", omittingEmptySubsequences: false)
        XCTAssertEqual(lines.filter { $0.hasPrefix("synchronous = ") }.count, 1, "init must write the synchronous key:\n\(configText)")
        try container.setConfig("synchronous", "on")
        try await container.ok(["wal", "stop"])
        try await container.ok(["wal", "start"])
        try assertReceiverArgv(container, synchronous: true)
        let connected = await eventually(timeout: 30) { (try? self.syncState(upstream, slot)) == "async" }
        XCTAssertTrue(connected, "pg_receivewal does not stream as application_name \(slot)")

        // Before the upstream names it, check warns that synchronous mode protects nothing.
        let unprotected = try await container.run(["check"])
        XCTAssertEqual(unprotected.exitCode, 1, "\(unprotected)")
        XCTAssertTrue(unprotected.stdout.contains("synchronous receiver: WARNING (synchronous = on but the upstream treats \(slot) as async"), unprotected.stdout)
        XCTAssertTrue(unprotected.stdout.contains("synchronous_standby_names"), unprotected.stdout)

        try upstream.sql("ALTER SYSTEM SET synchronous_standby_names = '\(slot)'")
        _ = try upstream.scalar("SELECT pg_reload_conf()")
        let sync = await eventually(timeout: 30) { (try? self.syncState(upstream, slot)) == "sync" }
        XCTAssertTrue(sync, "the upstream does not treat \(slot) as sync: \(String(describing: try? syncState(upstream, slot)))")
        let status = try await statusJSON(container)
        XCTAssertEqual(status.receiverSyncState, "sync")
        XCTAssertEqual(status.synchronous, true)
        let protected = try await container.run(["check"])
        XCTAssertTrue(protected.stdout.contains("synchronous receiver: OK (the upstream treats \(slot) as sync)"), protected.stdout)
        XCTAssertFalse(protected.stdout.contains("synchronous = on but"), protected.stdout)
        let human = try await container.run(["container", "status"])
        XCTAssertTrue(human.stdout.contains("sync state:       sync (application_name \(slot), synchronous = on)"), human.stdout)

        let log = try await crashUnderLoad(upstream, slot: slot, seconds: 15, switchEvery: nil)
        XCTAssertGreaterThanOrEqual(log.committed.count, 50, "too few committed markers for the test to mean something: \(log.summary)")

        let ids = try await latestCloneMarkerIDs(container, "after-crash")
        let missing = Set(log.committed).subtracting(ids)
        XCTAssertTrue(missing.isEmpty, "RPO 0 broken: markers the upstream reported committed are missing from the --latest clone: \(missing.sorted().prefix(20)) (\(missing.count) of \(log.committed.count)); \(log.summary)")
        XCTAssertGreaterThanOrEqual(ids.count, log.committed.count)
        XCTAssertLessThanOrEqual(ids.max() ?? 0, log.attempted, "the clone has a marker that was never written")
        print("upstream crash (synchronous): \(log.summary); all \(log.committed.count) committed markers in the clone, which has \(ids.count)")

        // Commits would block without the receiver: take the upstream out of synchronous mode
        // before it serves anything again.
        try await restartAfterCrash(upstream, settings: ["synchronous_standby_names = ''"])
    }

    struct Marker: Sendable {
        var id: Int
        /// pg_current_wal_insert_lsn() read after the commit returned: ≥ the commit record's end.
        var upper: LSN
    }

    struct MarkerLog: Sendable {
        /// Every marker whose INSERT (autocommit) returned success.
        var committed: [Int] = []
        /// Those of them with an upper bound of their commit LSN.
        var markers: [Marker] = []
        /// Highest id an INSERT was sent for.
        var attempted = 0
        var maxFlush: LSN?
        var flushSamples = 0
        var endError = ""
        var summary: String {
            "\(committed.count) markers committed, \(attempted) attempted, \(flushSamples) flush samples, max flush_lsn \(maxFlush?.description ?? "-"), writer ended with: \(endError)"
        }
    }

    /// pgbench plus a marker writer, then `kill -9` of the postmaster after `seconds`. Waits
    /// until the postmaster and its children are gone. Returns what the writer saw.
    func crashUnderLoad(_ upstream: UpstreamCluster, slot: String, seconds: Int, switchEvery: TimeInterval?,
                        file: StaticString = #filePath, line: UInt = #line) async throws -> MarkerLog {
        let pgbench = Task.detached { () async -> Void in
            // Ends with an error when the upstream dies under it.
            do { try await upstream.pgbench(seconds: seconds + 60, clients: 2) } catch {}
        }
        let deadline = Date().addingTimeInterval(Double(seconds + 60))
        let writer = Task.detached { () async -> MarkerLog in
            writeMarkers(upstream, slot: slot, switchEvery: switchEvery, deadline: deadline)
        }
        try await Task.sleep(for: .seconds(seconds))
        let postmaster = try XCTUnwrap(upstream.postmasterPID(), file: file, line: line)
        let children = childPIDs(of: postmaster)
        XCTAssertGreaterThan(children.count, 3, "the upstream should be busy (pgbench, writer, walsender)", file: file, line: line)
        XCTAssertEqual(kill(postmaster, SIGKILL), 0, "kill -9 of the upstream postmaster \(postmaster)", file: file, line: line)
        let log = await writer.value
        _ = await pgbench.value
        let gone = await eventually(timeout: 60) { isGone(postmaster) && children.allSatisfy(isGone) }
        XCTAssertTrue(gone, "the crashed upstream left processes behind: \([postmaster] + children.filter { !isGone($0) })", file: file, line: line)
        XCTAssertFalse(log.endError.isEmpty, "the writer must have been stopped by the crash, not by its deadline: \(log.summary)", file: file, line: line)
        return log
    }

    /// `clone create --latest`, `clone start`, and the marker ids it holds.
    func latestCloneMarkerIDs(_ container: ContainerFixture, _ name: String,
                              file: StaticString = #filePath, line: UInt = #line) async throws -> [Int] {
        try await container.ok(["clone", "create", name, "--latest"], file: file, line: line)
        try await container.ok(["clone", "start", name], file: file, line: line)
        let connection = try cloneConnection(container, name)
        defer { connection.close() }
        XCTAssertEqual(try connection.query("SELECT pg_is_in_recovery()").rows.first?[0], "f", "the clone was not promoted", file: file, line: line)
        return try connection.query("SELECT id FROM markers ORDER BY id").rows.map { Int($0[0]!)! }
    }

    func cloneConnection(_ container: ContainerFixture, _ name: String) throws -> Connection {
        let data = try Data(contentsOf: URL(fileURLWithPath: container.layout.clone(name) + "/pgarchive.clone.json"))
        let metadata = try SnapshotStore.decoder.decode(CloneMetadata.self, from: data)
        return try Connection(conninfo: "host=\(container.layout.run) port=\(metadata.port) dbname=postgres user=\(try container.config().standbyUser)", connectTimeout: 5)
    }

    /// Crash recovery of the killed upstream (so teardown's purge can drop the slot).
    func restartAfterCrash(_ upstream: UpstreamCluster, settings: [String] = []) async throws {
        if !settings.isEmpty {
            try (settings.joined(separator: "\n") + "\n").write(toFile: upstream.dataDirectory + "/postgresql.auto.conf", atomically: true, encoding: .utf8)
        }
        try await upstream.start()
        XCTAssertEqual(try upstream.scalar("SELECT pg_is_in_recovery()"), "f")
    }

    func syncState(_ upstream: UpstreamCluster, _ applicationName: String) throws -> String? {
        try upstream.scalar("SELECT sync_state FROM pg_stat_replication WHERE application_name = $1", [applicationName])
    }

    static let schema = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("docs/status.schema.json").path

    /// `container status --json`, validated against docs/status.schema.json (python3-jsonschema).
    func statusJSON(_ container: ContainerFixture, file: StaticString = #filePath, line: UInt = #line) async throws -> ContainerStatus {
        let result = try await container.run(["container", "status", "--json"])
        XCTAssertTrue([0, 1, 2].contains(result.exitCode), "\(result)", file: file, line: line)
        let python = "/usr/bin/python3"
        let probe = try await ToolCommand(executable: python, arguments: ["-c", "import jsonschema"]).run()
        if probe.exitCode != 0 {
            try IntegrationEnvironment.unavailable("python3-jsonschema is not installed (make test installs it)", file: file, line: line)
        }
        let script = "import json,sys,jsonschema; jsonschema.validate(json.load(sys.stdin), json.load(open(sys.argv[1]))); print('valid')"
        let valid = try await ToolCommand(executable: python, arguments: ["-c", script, Self.schema]).run(input: result.stdout)
        XCTAssertEqual(valid.exitCode, 0, "status --json does not match docs/status.schema.json:\n\(valid.standardError)\n\(result.stdout)", file: file, line: line)
        return try SnapshotStore.decoder.decode(ContainerStatus.self, from: Data(result.stdout.utf8))
    }

    /// pg_receivewal's argv: application_name in the conninfo, no password, --synchronous as set.
    func assertReceiverArgv(_ container: ContainerFixture, synchronous: Bool, file: StaticString = #filePath, line: UInt = #line) throws {
        let pids = receiverPIDs(container)
        XCTAssertEqual(pids.count, 1, "exactly one pg_receivewal for the container: \(pids)", file: file, line: line)
        let argv = try XCTUnwrap(pids.first.flatMap(Processes.commandLine(of:)), file: file, line: line)
        let slot = try container.config().slot
        XCTAssertTrue(argv.contains { $0.contains("application_name=\(slot)") }, "\(argv)", file: file, line: line)
        XCTAssertFalse(argv.contains { $0.contains("password=") }, "\(argv)", file: file, line: line)
        XCTAssertEqual(argv.contains("--synchronous"), synchronous, "\(argv)", file: file, line: line)
    }

    // MARK: - upstream down for longer than a cron cycle

    func testUpstreamDownLongerThanACronCycleJobsReportDoNotPileUpAndResume() async throws {
        let upstream = try await makeUpstream("down")
        let container = try await makeContainer(upstream)
        // A short stuck limit, and an outage longer than it: the first watchdog run after the
        // outage must not call the receiver stuck for the time the upstream was away.
        let stuckAfter: TimeInterval = 30
        let configText = try String(contentsOfFile: container.layout.configFile, encoding: .utf8)
        XCTAssertTrue(configText.contains("\nwatchdog_stuck_after = "), configText)
        try container.setConfig("watchdog_stuck_after", "'\(Int(stuckAfter))s'")
        XCTAssertEqual(try container.config().watchdogStuckAfter, TimeSpan(seconds: Int64(stuckAfter)))
        try mark(upstream, 1, "before-stop")
        await assertReplays(container, 1)
        try await container.newCheckpointReplayed(upstream)
        let snapshotsBefore = try await snapshotNames(container)
        let receiver = try XCTUnwrap(container.receiverPID())
        // Never more than one receiver, at any moment of the test (sampled every 50 ms).
        let sampler = ReceiverSampler(archive: container.layout.walArchive)
        let sampling = Task.detached { await sampler.run() }
        defer { sampling.cancel() }

        await upstream.stop()
        let stopped = Date()

        // Two cron cycles of the watchdog: each reports the upstream and returns; the
        // receiver (retrying by itself) is left alone.
        for cycle in 1...2 {
            let watchdog = try await cron(container, "watchdog")
            XCTAssertEqual(watchdog.exitCode, 1, "cycle \(cycle): \(watchdog)")
            XCTAssertTrue(watchdog.stderr.contains("the upstream is unreachable"), "cycle \(cycle): \(watchdog.stderr)")
            let run = try lastRun(container, "watchdog")
            XCTAssertEqual(run.result, .failed)
            XCTAssertTrue(run.message.contains("the upstream is unreachable"), run.message)
            XCTAssertEqual(receiverPIDs(container), [receiver], "cycle \(cycle): the watchdog must leave the retrying receiver alone")
        }
        // Overlapping runs of the same job: one reports, the other is busy (or reports too,
        // having started after the first ended); neither starts a second receiver.
        var overlapping = try await overlappingCron(container, "watchdog")
        XCTAssertTrue([[1, 1], [1, 75]].contains(overlapping.map(\.exitCode).sorted()), "\(overlapping)")
        XCTAssertEqual(receiverPIDs(container), [receiver])

        // Jobs that do not need the upstream work: a snapshot of the standby, compression.
        let snapshot = try await cron(container, "expire-and-create-snapshot")
        XCTAssertEqual(snapshot.exitCode, 0, "\(snapshot)")
        let compress = try await cron(container, "compress-wal")
        XCTAssertEqual(compress.exitCode, 0, "\(compress)")
        let snapshotsDown = try await snapshotNames(container)
        let newSnapshot = try XCTUnwrap(snapshotsDown.last)
        XCTAssertEqual(snapshotsDown.count, snapshotsBefore.count + 1, "a new snapshot while the upstream is down: \(snapshotsBefore) → \(snapshotsDown)")
        try await container.ok(["clone", "create", "down", "--snapshot", newSnapshot, "--immediate", "--start"])
        do {
            let clone = try cloneConnection(container, "down")
            defer { clone.close() }
            XCTAssertEqual(try clone.query("SELECT note FROM markers ORDER BY id").rows.map { $0[0] ?? "" }, ["before-stop"])
        }
        try await container.ok(["clone", "delete", "down", "--force"])

        // status and check name the upstream.
        let status = try await container.run(["container", "status"])
        XCTAssertEqual(status.exitCode, 1, "\(status)")
        XCTAssertTrue(status.stdout.contains("upstream:         UNREACHABLE"), status.stdout)
        XCTAssertTrue(status.stdout.contains("the upstream is unreachable"), status.stdout)
        XCTAssertTrue(status.stdout.contains("cron watchdog failed: the upstream is unreachable"), status.stdout)
        let json = try await statusJSON(container)
        XCTAssertFalse(json.upstreamReachable)
        XCTAssertNil(json.receiverSyncState)
        let downCheck = try await container.run(["check"])
        XCTAssertEqual(downCheck.exitCode, 2, "CRITICAL, not UNKNOWN: \(downCheck)")
        XCTAssertTrue(downCheck.stdout.contains("upstream reachable: CRITICAL"), downCheck.stdout)
        XCTAssertTrue(downCheck.stdout.contains("watchdog failed: the upstream is unreachable"), downCheck.stdout)

        // The receiver dies while the upstream is down: overlapping watchdogs report and
        // start nothing (a pg_receivewal would only fail to connect); never two receivers.
        XCTAssertEqual(kill(receiver, SIGKILL), 0)
        let receiverGone = await eventually(timeout: 30) { isGone(receiver) }
        XCTAssertTrue(receiverGone)
        overlapping = try await overlappingCron(container, "watchdog")
        XCTAssertTrue([[1, 1], [1, 75]].contains(overlapping.map(\.exitCode).sorted()), "\(overlapping)")
        for result in overlapping where result.exitCode == 1 {
            XCTAssertTrue(result.stderr.contains("the upstream is unreachable") && result.stderr.contains("was not restarted"), result.stderr)
        }
        for result in overlapping where result.exitCode == 75 {
            XCTAssertTrue(result.stderr.contains("another pgarchive (pid "), result.stderr)
        }
        XCTAssertEqual(receiverPIDs(container), [], "no pg_receivewal while the upstream is down")

        // The upstream comes back: the next watchdog run restarts the receiver, new rows
        // arrive, replay, and are in a new snapshot's clone; status is ok again.
        let outage = Date().timeIntervalSince(stopped)
        if outage < stuckAfter + 5 { try await Task.sleep(for: .seconds(stuckAfter + 5 - outage)) }
        try await upstream.start()
        try mark(upstream, 2, "after-restart")
        let resumed = try await cron(container, "watchdog")
        XCTAssertEqual(resumed.exitCode, 0, "\(resumed)")
        XCTAssertEqual(try lastRun(container, "watchdog").result, .ok)
        XCTAssertTrue(try lastRun(container, "watchdog").message.contains("restarted pg_receivewal"))
        let newReceivers = receiverPIDs(container)
        XCTAssertEqual(newReceivers.count, 1, "exactly one receiver after the restart: \(newReceivers)")
        try mark(upstream, 3, "after-watchdog")
        await assertReplays(container, 3)
        XCTAssertEqual(container.standbyScalar("SELECT string_agg(note, ',' ORDER BY id) FROM markers"), "before-stop,after-restart,after-watchdog")
        try await container.newCheckpointReplayed(upstream)
        let after = try await cron(container, "expire-and-create-snapshot")
        XCTAssertEqual(after.exitCode, 0, "\(after)")
        let snapshotsUp = try await snapshotNames(container)
        XCTAssertEqual(snapshotsUp.count, snapshotsDown.count + 1, "\(snapshotsDown) → \(snapshotsUp)")
        try await container.ok(["clone", "create", "up", "--latest", "--start"])
        do {
            let clone = try cloneConnection(container, "up")
            defer { clone.close() }
            XCTAssertEqual(try clone.query("SELECT note FROM markers ORDER BY id").rows.map { $0[0] ?? "" }, ["before-stop", "after-restart", "after-watchdog"])
        }
        try await container.ok(["clone", "delete", "up", "--force"])
        let again = try await cron(container, "watchdog")
        XCTAssertEqual(again.exitCode, 0, "\(again)")
        XCTAssertEqual(receiverPIDs(container), newReceivers)
        let ok = try await container.run(["container", "status"])
        XCTAssertEqual(ok.exitCode, 0, "\(ok)")
        XCTAssertTrue(ok.stdout.contains("health:           ok"), ok.stdout)
        let check = try await container.run(["check"])
        XCTAssertEqual(check.exitCode, 0, "\(check)")
        XCTAssertTrue(check.stdout.contains("upstream reachable: OK"), check.stdout)

        sampling.cancel()
        let (samples, most) = await sampling.value
        XCTAssertGreaterThan(samples, 20, "the sampler hardly ran")
        XCTAssertEqual(most, 1, "at some moment \(most) pg_receivewal processes wrote into the archive")
    }

    /// Without --synchronous pg_receivewal flushes only at segment ends: on an upstream that
    /// goes quiet mid-segment its flush_lsn stays behind for good. The watchdog must measure
    /// progress by what it wrote, or it calls a healthy receiver stuck (and cron mails it).
    func testQuietUpstreamMidSegmentIsNotAStuckReceiver() async throws {
        let upstream = try await makeUpstream("quiet")
        let container = try await makeContainer(upstream)
        let stuckAfter = 20
        try container.setConfig("watchdog_stuck_after", "'\(stuckAfter)s'")
        let slot = try container.config().slot

        // A checkpoint now, so no timed one falls into the test; then one row mid-segment,
        // and quiet: until the bgwriter's standby snapshot (every 15 s after activity) is
        // written, the upstream's position moves.
        try upstream.sql("CHECKPOINT")
        try upstream.sql("INSERT INTO markers (id, note) VALUES (1, 'mid-segment')")
        var position = try XCTUnwrap(upstream.scalar("SELECT pg_current_wal_lsn()"))
        var quietSince = Date()
        let quiet = await eventually(timeout: 120, interval: 1) {
            let now = (try? upstream.scalar("SELECT pg_current_wal_lsn()")) ?? nil
            if now != position { position = now ?? ""; quietSince = Date() }
            return Date().timeIntervalSince(quietSince) > 17
        }
        XCTAssertTrue(quiet, "the upstream did not go quiet")
        // The receiver has written everything the upstream has (it reports every 10 s).
        let caughtUp = await eventually(timeout: 60) {
            (try? upstream.scalar("SELECT write_lsn = pg_current_wal_lsn() FROM pg_stat_replication WHERE application_name = $1", [slot])) == "t"
        }
        XCTAssertTrue(caughtUp, "pg_receivewal did not report writing up to the upstream's position")
        let first = try await cron(container, "watchdog")
        XCTAssertEqual(first.exitCode, 0, "\(first)")
        try await Task.sleep(for: .seconds(stuckAfter + 5))

        // The premise: flushed lags behind the upstream, written does not.
        let status = try await statusJSON(container)
        let upstreamLSN = try XCTUnwrap(status.upstreamLSN.flatMap(LSN.init))
        let flushed = try XCTUnwrap(status.receivedLSN.flatMap(LSN.init))
        XCTAssertLessThan(flushed, upstreamLSN, "flush_lsn is expected to stop at the segment start without --synchronous")
        XCTAssertEqual(status.receiverWriteLSN.flatMap(LSN.init), upstreamLSN)
        let second = try await cron(container, "watchdog")
        XCTAssertEqual(second.exitCode, 0, "a quiet upstream is not a stuck receiver: \(second)")
        XCTAssertEqual(try lastRun(container, "watchdog").message, "all running")
        let check = try await container.run(["check"])
        XCTAssertEqual(check.exitCode, 0, "\(check)")
    }

    func mark(_ upstream: UpstreamCluster, _ id: Int, _ note: String) throws {
        try upstream.sql("INSERT INTO markers (id, note) VALUES (\(id), '\(note)')")
        _ = try upstream.scalar("SELECT pg_switch_wal()")
    }

    func assertReplays(_ container: ContainerFixture, _ id: Int, file: StaticString = #filePath, line: UInt = #line) async {
        let seen = await eventually(timeout: 90) { container.standbyScalar("SELECT count(*) FROM markers WHERE id = \(id)") == "1" }
        XCTAssertTrue(seen, "the standby did not replay marker \(id)", file: file, line: line)
    }

    func snapshotNames(_ container: ContainerFixture) async throws -> [String] {
        let listed = try await container.ok(["snapshot", "list", "--json"])
        return try SnapshotStore.decoder.decode([SnapshotMetadata].self, from: Data(listed.stdout.utf8)).map(\.name)
    }

    func lastRun(_ container: ContainerFixture, _ job: String) throws -> CronRun {
        let data = try Data(contentsOf: URL(fileURLWithPath: container.layout.run + "/cron_\(job).json"))
        return try SnapshotStore.decoder.decode(CronRun.self, from: data)
    }

    /// `pgarchive cron JOB --no-wait` as cron runs it, under `timeout`: a job that hangs
    /// fails the test (exit 124) instead of hanging it.
    struct CronResult: Sendable, CustomStringConvertible {
        var exitCode: Int32
        var stdout: String
        var stderr: String
        var description: String { "exit \(exitCode)\n--- stdout\n\(stdout)--- stderr\n\(stderr)" }
    }

    func cron(_ container: ContainerFixture, _ job: String, file: StaticString = #filePath, line: UInt = #line) async throws -> CronResult {
        let result = try await Self.runCron(container, job)
        XCTAssertNotEqual(result.exitCode, 124, "cron \(job) hung: \(result)", file: file, line: line)
        return result
    }

    static func runCron(_ container: ContainerFixture, _ job: String) async throws -> CronResult {
        let output = try await ToolCommand(executable: "timeout", arguments: ["-k", "10", "240", container.binary.path, "cron", job, "--no-wait", "-C", container.path],
                                           environment: container.binary.environment).run()
        return CronResult(exitCode: output.exitCode ?? (128 + (output.signal ?? 0)), stdout: output.standardOutput, stderr: output.standardError)
    }

    func overlappingCron(_ container: ContainerFixture, _ job: String) async throws -> [CronResult] {
        async let first = Self.runCron(container, job)
        async let second = Self.runCron(container, job)
        let results = try await [first, second]
        for result in results { XCTAssertNotEqual(result.exitCode, 124, "cron \(job) hung: \(result)") }
        return results
    }

    func receiverPIDs(_ container: ContainerFixture) -> [pid_t] { archiveReceivers(archive: container.layout.walArchive) }
}

/// Commits markers one by one (autocommit) until the upstream fails, recording each one
/// whose commit returned and an upper bound of its commit LSN; samples the receiver's
/// flush_lsn every 10 markers.
private func writeMarkers(_ upstream: UpstreamCluster, slot: String, switchEvery: TimeInterval?, deadline: Date) -> UpstreamFaultIntegrationTests.MarkerLog {
    var log = UpstreamFaultIntegrationTests.MarkerLog()
    let connection: Connection
    do { connection = try upstream.connect() } catch { log.endError = "connect: \(error)"; return log }
    defer { connection.close() }
    var id = 0
    var lastSwitch = Date()
    while Date() < deadline {
        id += 1
        log.attempted = id
        do {
            try connection.execute("INSERT INTO markers (id, note) VALUES ($1, 'crash')", [String(id)])
        } catch {
            log.endError = "\(error)"
            break
        }
        log.committed.append(id)
        do {
            guard let upper = try connection.query("SELECT pg_current_wal_insert_lsn()::text").rows.first?[0].flatMap(LSN.init) else {
                log.endError = "no insert LSN"; break
            }
            log.markers.append(UpstreamFaultIntegrationTests.Marker(id: id, upper: upper))
            if id % 10 == 0 {
                let flush = try connection.query("SELECT flush_lsn::text FROM pg_stat_replication WHERE application_name = $1", [slot]).rows.first?[0].flatMap(LSN.init)
                log.flushSamples += 1
                if let flush, flush > (log.maxFlush ?? .zero) { log.maxFlush = flush }
            }
            if let switchEvery, Date().timeIntervalSince(lastSwitch) >= switchEvery {
                _ = try connection.query("SELECT pg_switch_wal()")
                lastSwitch = Date()
            }
        } catch {
            log.endError = "\(error)"
            break
        }
    }
    if log.endError.isEmpty { log.endError = "(deadline reached)" }
    return log
}

/// Every pg_receivewal process writing into `archive` (from /proc).
private func archiveReceivers(archive: String) -> [pid_t] {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return names.compactMap { name -> pid_t? in
        guard let pid = pid_t(name), let argv = Processes.commandLine(of: pid),
              argv.first.map({ ($0 as NSString).lastPathComponent }) == "pg_receivewal",
              argv.contains(where: { $0 == archive || $0 == "--directory=" + archive }) else { return nil }
        return pid
    }.sorted()
}

/// Counts the receivers of one archive until cancelled: (samples taken, most seen at once).
private final class ReceiverSampler: Sendable {
    let archive: String
    init(archive: String) { self.archive = archive }

    func run() async -> (samples: Int, most: Int) {
        var samples = 0
        var most = 0
        while !Task.isCancelled {
            most = max(most, archiveReceivers(archive: archive).count)
            samples += 1
            try? await Task.sleep(for: .milliseconds(50))
        }
        return (samples, most)
    }
}

