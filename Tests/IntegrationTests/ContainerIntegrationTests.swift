import Btrfs
import Foundation
import PGArchiveCore
import PGArchiveTestSupport
import Postgres
import XCTest

/// Containers against a real upstream, real pg_receivewal, a real standby on real btrfs,
/// driven through the built binary.
final class ContainerIntegrationTests: XCTestCase {
    var upstreams: [UpstreamCluster] = []
    var containers: [ContainerFixture] = []

    override func tearDown() async throws {
        for container in containers.reversed() { await container.destroy() }
        for upstream in upstreams.reversed() { await upstream.destroy() }
        containers = []
        upstreams = []
    }

    func makeUpstream(_ name: String = "upstream", settings: [String: String] = [:]) async throws -> UpstreamCluster {
        let upstream = try await UpstreamCluster(name: name, settings: settings)
        upstreams.append(upstream)
        try upstream.sql("CREATE TABLE markers (id serial PRIMARY KEY, note text NOT NULL, at timestamptz DEFAULT now())")
        return upstream
    }

    func makeContainer(_ name: String = "c", environment: [String: String?] = [:]) throws -> ContainerFixture {
        let container = try ContainerFixture(name: name, environment: environment)
        containers.append(container)
        return container
    }

    /// Inserts a marker upstream and closes the segment so the standby can replay it.
    func mark(_ upstream: UpstreamCluster, _ note: String, switchWAL: Bool = true) throws {
        try upstream.sql("INSERT INTO markers (note) VALUES ('\(note)')")
        if switchWAL { _ = try upstream.scalar("SELECT pg_switch_wal()") }
    }

    func assertReplays(_ container: ContainerFixture, _ note: String, timeout: TimeInterval = 60,
                       file: StaticString = #filePath, line: UInt = #line) async {
        let seen = await eventually(timeout: timeout) {
            container.standbyScalar("SELECT count(*) FROM markers WHERE note = '\(note)'") == "1"
        }
        XCTAssertTrue(seen, "the standby of \(container.path) did not replay marker '\(note)' within \(Int(timeout)) s", file: file, line: line)
    }

    func assertNoGap(_ container: ContainerFixture, file: StaticString = #filePath, line: UInt = #line) throws {
        let archive = WALArchive(directory: container.layout.walArchive)
        XCTAssertEqual(try archive.missingSegments().map(\.fileName), [], "segments missing in \(archive.directory)", file: file, line: line)
        XCTAssertGreaterThan(try archive.entries().filter { !$0.name.isPartial && !$0.name.isHistory }.count, 0, file: file, line: line)
    }

    // MARK: - init, status, layout

    func testInitOnLoadedUpstreamReplaysNewRows() async throws {
        let upstream = try await makeUpstream()
        try await upstream.pgbenchInit(scale: 2)
        let container = try makeContainer()
        async let load: Void = upstream.pgbench(seconds: 8)
        try await container.initContainer(upstream: upstream)
        try await load
        try mark(upstream, "after-init")
        await assertReplays(container, "after-init")
        XCTAssertEqual(container.standbyScalar("SELECT pg_is_in_recovery()"), "t")
        XCTAssertEqual(container.standbyScalar("SELECT count(*) FROM pgbench_accounts"), "200000")

        let status = try await container.run(["container", "status"])
        XCTAssertEqual(status.exitCode, 0, "\(status)")
        XCTAssertTrue(status.stdout.contains("pg_receivewal:    running (pid \(container.receiverPID()!))"), status.stdout)
        XCTAssertTrue(status.stdout.contains("standby:          running"), status.stdout)
        XCTAssertTrue(status.stdout.contains("slot:             active"), status.stdout)
        XCTAssertTrue(status.stdout.contains("health:           ok"), status.stdout)

        // Layout and permissions of docs/ARCHITECTURE.md, The container.
        var st = stat()
        XCTAssertEqual(stat(container.path, &st), 0)
        XCTAssertEqual(st.st_mode & 0o777, 0o700)
        XCTAssertEqual(stat(container.layout.configFile, &st), 0)
        XCTAssertEqual(st.st_mode & 0o777, 0o600)
        for directory in ["wal_archive", "standby", "snapshots", "clones", "dumps", "logs", "run"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: container.path + "/" + directory), directory)
        }
        let property = try await ToolCommand(executable: "btrfs", arguments: ["property", "get", container.layout.walArchive, "compression"]).runChecked()
        XCTAssertTrue(property.standardOutput.contains("compression=zstd"), property.standardOutput)
        let config = try container.config()
        XCTAssertEqual(config.slot, "pgarchive_c")
        XCTAssertEqual(config.upstreamVersion, UpstreamCluster.majorVersion)
        // Debian's tools are found by version; others (the matrix's PyPI builds, found through
        // pg_config on PATH) are recorded so cron uses the same ones.
        let debian = "/usr/lib/postgresql/\(UpstreamCluster.majorVersion)/bin"
        XCTAssertEqual(config.pgBindir, UpstreamCluster.bindir == debian ? "" : UpstreamCluster.bindir)
        try assertNoGap(container)
        // init takes the first snapshot: read-only, with metadata, listed.
        let snapshots = container.layout.snapshots
        let listed = try await container.ok(["snapshot", "list", "--json"])
        let metadata = try SnapshotStore.decoder.decode([SnapshotMetadata].self, from: Data(listed.stdout.utf8))
        XCTAssertEqual(metadata.count, 1, listed.stdout)
        let first = try XCTUnwrap(metadata.first)
        XCTAssertTrue(try Btrfs.Subvolume.isReadOnly(snapshots + "/" + first.name))
        XCTAssertTrue(FileManager.default.fileExists(atPath: snapshots + "/" + first.name + "/PG_VERSION"))
        XCTAssertEqual(first.timeline, 1)
    }

    // MARK: - resilience

    func testKilledReceiverResumesFromSlotWithoutGap() async throws {
        let upstream = try await makeUpstream()
        let container = try makeContainer()
        try await container.initContainer(upstream: upstream)
        let pid = try XCTUnwrap(container.receiverPID())
        kill(pid, SIGKILL)
        XCTAssertTrue(Processes.waitForExit(pid, timeout: 10))

        // WAL written while nothing streams stays on the upstream thanks to the slot.
        for i in 0..<3 { try mark(upstream, "while-down-\(i)") }
        let down = try await container.run(["container", "status"])
        XCTAssertEqual(down.exitCode, 1, "status must say degraded while the receiver is down: \(down)")
        XCTAssertTrue(down.stdout.contains("pg_receivewal:    stopped (stale pid file: pid \(pid) is gone)"), down.stdout)
        XCTAssertTrue(down.stdout.contains("health:           DEGRADED"), down.stdout)
        XCTAssertTrue(down.stdout.contains("pg_receivewal is stale: no new WAL is being archived"), down.stdout)

        try await container.ok(["container", "start"])
        XCTAssertNotEqual(container.receiverPID(), pid)
        try mark(upstream, "after-restart")
        await assertReplays(container, "after-restart")
        XCTAssertEqual(container.standbyScalar("SELECT count(*) FROM markers WHERE note LIKE 'while-down-%'"), "3")
        try assertNoGap(container)
    }

    func testUpstreamOutageIsReportedAndReceiverReconnectsByItself() async throws {
        let upstream = try await makeUpstream()
        let container = try makeContainer()
        try await container.initContainer(upstream: upstream)
        let receiver = try XCTUnwrap(container.receiverPID())
        try mark(upstream, "before-outage")
        await assertReplays(container, "before-outage")

        await upstream.stop()
        let during = try await container.run(["container", "status"])
        XCTAssertEqual(during.exitCode, 1, "\(during)")
        XCTAssertTrue(during.stdout.contains("upstream:         UNREACHABLE"), during.stdout)
        XCTAssertTrue(during.stdout.contains("health:           DEGRADED"), during.stdout)
        XCTAssertTrue(during.stdout.contains("standby:          running"), during.stdout)
        try await Task.sleep(for: .seconds(6)) // longer than pg_receivewal's 5 s retry interval

        try await upstream.start()
        try mark(upstream, "after-outage")
        await assertReplays(container, "after-outage", timeout: 90)
        XCTAssertEqual(container.receiverPID(), receiver, "pg_receivewal reconnects by itself; it was not restarted")
        let after = try await container.run(["container", "status"])
        XCTAssertEqual(after.exitCode, 0, "\(after)")
        try assertNoGap(container)
    }

    func testStopThenStartCatchesUpAfterHundredMegabytes() async throws {
        let upstream = try await makeUpstream()
        let container = try makeContainer()
        try await container.initContainer(upstream: upstream)
        try await container.ok(["container", "stop"])
        XCTAssertNil(container.standbyScalar("SELECT 1"), "the standby must be down")
        let stopped = try await container.run(["container", "status"])
        XCTAssertEqual(stopped.exitCode, 2, "a stopped container is down: \(stopped)")
        XCTAssertTrue(stopped.stdout.contains("health:           DOWN"), stopped.stdout)

        let before = try XCTUnwrap(upstream.scalar("SELECT pg_current_wal_lsn()").flatMap(LSN.init))
        try upstream.sql("CREATE TABLE bulk AS SELECT g AS id, repeat(md5(g::text), 30) AS filler FROM generate_series(1, 110000) g")
        try mark(upstream, "after-bulk")
        let after = try XCTUnwrap(upstream.scalar("SELECT pg_current_wal_lsn()").flatMap(LSN.init))
        XCTAssertGreaterThan(after.value - before.value, 100 << 20, "the test must write over 100 MB of WAL")

        try await container.ok(["container", "start"])
        await assertReplays(container, "after-bulk", timeout: 180)
        XCTAssertEqual(container.standbyScalar("SELECT count(*) FROM bulk"), "110000")
        try assertNoGap(container)
    }

    // MARK: - many containers

    func testContainersOfOneAndTwoUpstreamsRunSideBySide() async throws {
        let a = try await makeUpstream("upstream-a")
        let b = try await makeUpstream("upstream-b")
        let a1 = try makeContainer("a1"), a2 = try makeContainer("a2"), b1 = try makeContainer("b1")
        try await a1.initContainer(upstream: a)
        try await a2.initContainer(upstream: a)
        try await b1.initContainer(upstream: b)

        let configs = try [a1, a2, b1].map { try $0.config() }
        XCTAssertEqual(Set(configs.map(\.standbyPort)).count, 3, "standby ports must differ: \(configs.map(\.standbyPort))")
        XCTAssertEqual(Set(configs.map(\.slot)), ["pgarchive_a1", "pgarchive_a2", "pgarchive_b1"])
        XCTAssertEqual(Set([a1, a2, b1].compactMap { $0.receiverPID() }).count, 3)
        XCTAssertEqual(try a.scalar("SELECT string_agg(slot_name, ',' ORDER BY slot_name) FROM pg_replication_slots WHERE active"), "pgarchive_a1,pgarchive_a2")

        try mark(a, "for-a")
        try mark(b, "for-b")
        for c in [a1, a2] { await assertReplays(c, "for-a") }
        await assertReplays(b1, "for-b")
        XCTAssertEqual(b1.standbyScalar("SELECT count(*) FROM markers WHERE note = 'for-a'"), "0")

        try await a1.ok(["container", "purge", "--force"])
        XCTAssertEqual(try a.scalar("SELECT string_agg(slot_name, ',') FROM pg_replication_slots"), "pgarchive_a2")
        try mark(a, "after-purge")
        await assertReplays(a2, "after-purge")
    }

    func testInitFromAHotStandbyUpstream() async throws {
        let primary = try await makeUpstream("primary", settings: ["hot_standby_feedback": "on"])
        try mark(primary, "on-primary-before")
        // A streaming standby of the primary becomes the container's upstream.
        let replica = try await UpstreamCluster.replica(of: primary, name: "replica")
        upstreams.append(replica)
        XCTAssertEqual(try replica.scalar("SELECT pg_is_in_recovery()"), "t")

        let container = try makeContainer()
        try await container.initContainer(upstream: replica)
        await assertReplays(container, "on-primary-before")
        try mark(primary, "on-primary-after")
        await assertReplays(container, "on-primary-after", timeout: 90)
        XCTAssertEqual(try primary.scalar("SELECT count(*) FROM pg_replication_slots"), "0", "the primary carries no slot of ours")
        XCTAssertEqual(try replica.scalar("SELECT slot_name FROM pg_replication_slots"), "pgarchive_c")
    }

    /// The upstream is a standby that gets promoted (a failover): pg_receivewal follows it onto
    /// timeline 2, the container's standby too, `verify` walks the archive across the
    /// timeline history file, and a clone of a snapshot from timeline 1 replays across the
    /// switch to the newest row.
    func testPromotedUpstreamIsFollowedOntoTheNewTimeline() async throws {
        let primary = try await makeUpstream("primary")
        try mark(primary, "before-promotion")
        let replica = try await UpstreamCluster.replica(of: primary, name: "replica")
        upstreams.append(replica)
        let container = try makeContainer()
        try await container.initContainer(upstream: replica)
        await assertReplays(container, "before-promotion")
        try container.skipAmcheckWhereUnavailable()
        let snapshotsBefore = try SnapshotStore(layout: container.layout).list()
        let onTimeline1 = try XCTUnwrap(snapshotsBefore.last)
        XCTAssertEqual(onTimeline1.timeline, 1)

        // Failover: the primary goes away, the replica is promoted and takes writes.
        await primary.stop()
        XCTAssertEqual(try replica.scalar("SELECT pg_promote(true, 60)"), "t")
        try mark(replica, "after-promotion")
        let followed = await eventually(timeout: 120) {
            let files = (try? FileManager.default.contentsOfDirectory(atPath: container.layout.walArchive)) ?? []
            return files.contains("00000002.history") && files.contains { $0.hasPrefix("00000002") && !$0.hasSuffix(".history") && !$0.hasSuffix(".partial") }
        }
        XCTAssertTrue(followed, "pg_receivewal did not follow the promoted upstream onto timeline 2: \((try? FileManager.default.contentsOfDirectory(atPath: container.layout.walArchive)) ?? [])")
        await assertReplays(container, "after-promotion", timeout: 120)

        try await container.ok(["snapshot", "create", "--checkpoint-upstream", "--replay-timeout", "120"])
        let onTimeline2 = try XCTUnwrap(try SnapshotStore(layout: container.layout).list().last)
        XCTAssertEqual(onTimeline2.timeline, 2, "the new snapshot is not on the new timeline")

        let verified = try await container.run(["verify"])
        XCTAssertEqual(verified.exitCode, 0, "\(verified)")
        XCTAssertTrue(verified.stdout.contains("on timelines 1 → 2") && verified.stdout.contains(", contiguous"), verified.stdout)

        // From the timeline-1 snapshot, across the switch, to the newest row.
        try await container.ok(["clone", "create", "across", "--latest", "--snapshot", onTimeline1.name])
        try await container.ok(["clone", "start", "across"])
        let port = try CloneStore(layout: container.layout).get("across").port
        let connection = try Connection(conninfo: "host=\(container.layout.run) port=\(port) dbname=postgres user=\(try container.config().standbyUser)", connectTimeout: 10)
        defer { connection.close() }
        let notes = try connection.query("SELECT note FROM markers ORDER BY id").rows.compactMap { $0[0] }
        XCTAssertEqual(notes, ["before-promotion", "after-promotion"])
        try await container.ok(["clone", "delete", "--force", "across"])
        let restore = try await container.run(["verify", "--restore"])
        XCTAssertEqual(restore.exitCode, 0, "\(restore)")
    }

    // MARK: - retire, resync, purge

    func testRetireThenResyncKeepsOldSegments() async throws {
        let upstream = try await makeUpstream()
        let container = try makeContainer()
        try await container.initContainer(upstream: upstream)
        try mark(upstream, "before-retire")
        await assertReplays(container, "before-retire")
        let oldSegments = try WALArchive(directory: container.layout.walArchive).entries().filter { !$0.name.isPartial }.map(\.name.fileName)
        XCTAssertFalse(oldSegments.isEmpty)

        try await container.ok(["container", "retire", "--force"])
        XCTAssertEqual(try upstream.scalar("SELECT count(*) FROM pg_replication_slots"), "0")
        XCTAssertFalse(FileManager.default.fileExists(atPath: container.layout.standby))
        let retired = try await container.run(["container", "status"])
        XCTAssertTrue(retired.stdout.contains("retired"), retired.stdout)
        let refused = try await container.run(["container", "start"])
        XCTAssertEqual(refused.exitCode, 1)
        XCTAssertTrue(refused.stderr.contains("is retired"), refused.stderr)

        try mark(upstream, "while-retired")
        try await container.ok(["container", "resync"])
        try mark(upstream, "after-resync")
        await assertReplays(container, "after-resync")
        XCTAssertEqual(container.standbyScalar("SELECT count(*) FROM markers"), "3")
        let kept = try WALArchive(directory: container.layout.walArchive).entries(includeRetired: true).map(\.name.fileName)
        for name in oldSegments { XCTAssertTrue(kept.contains(name), "\(name) from before the resync was lost") }
        try assertNoGap(container)
    }

    func testPurgeRefusesWithoutForceThenRemovesSlotAndSubvolumes() async throws {
        let upstream = try await makeUpstream()
        let container = try makeContainer()
        try await container.initContainer(upstream: upstream)
        let refused = try await container.run(["container", "purge"])
        XCTAssertEqual(refused.exitCode, 1)
        XCTAssertTrue(refused.stderr.contains("pass --force to confirm"), refused.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: container.layout.standby + "/PG_VERSION"))
        XCTAssertEqual(try upstream.scalar("SELECT count(*) FROM pg_replication_slots"), "1")

        let receiver = try XCTUnwrap(container.receiverPID()), standby = try XCTUnwrap(container.standbyPID())
        try await container.ok(["container", "purge", "--force"])
        XCTAssertEqual(try upstream.scalar("SELECT count(*) FROM pg_replication_slots"), "0")
        XCTAssertFalse(FileManager.default.fileExists(atPath: container.path))
        XCTAssertFalse(Processes.isAlive(receiver))
        XCTAssertFalse(Processes.isAlive(standby))
        let subvolumes = try await ToolCommand(executable: "btrfs", arguments: ["subvolume", "list", "-o", container.scratch]).run()
        XCTAssertFalse(subvolumes.standardOutput.contains(container.path), subvolumes.standardOutput)
    }

    // MARK: - bad input

    func testBadInputIsRefusedAndLeavesNothingBehind() async throws {
        let upstream = try await makeUpstream()
        let slotsBefore = try upstream.scalar("SELECT count(*) FROM pg_replication_slots")

        // A non-empty directory.
        let nonEmpty = try makeContainer()
        try FileManager.default.createDirectory(atPath: nonEmpty.path, withIntermediateDirectories: false)
        XCTAssertTrue(FileManager.default.createFile(atPath: nonEmpty.path + "/precious", contents: Data("keep".utf8)))
        var result = try await nonEmpty.run(["container", "init", "--upstream", upstream.conninfo])
        XCTAssertEqual(result.exitCode, 1)
        XCTAssertTrue(result.stderr.contains("exists and is not empty"), result.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: nonEmpty.path), ["precious"])

        // A path that is not on btrfs.
        let plain = try TemporaryDirectory.make(prefix: "pgarchive-notbtrfs")
        defer { try? FileManager.default.removeItem(atPath: plain) }
        result = try await PGArchiveBinary().run(["container", "init", "-C", plain + "/c", "--upstream", upstream.conninfo])
        XCTAssertEqual(result.exitCode, 1)
        XCTAssertTrue(result.stderr.contains("is not on a btrfs file system"), result.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: plain + "/c"))

        // An unreachable upstream.
        let nowhere = try makeContainer()
        result = try await nowhere.run(["container", "init", "--upstream", "host=\(upstream.socketDirectory) port=\(try FreePort.find()) user=postgres"])
        XCTAssertEqual(result.exitCode, 1)
        XCTAssertTrue(result.stderr.contains("cannot connect to the upstream"), result.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: nowhere.path))

        // An existing slot.
        try upstream.sql("SELECT pg_create_physical_replication_slot('taken')")
        let taken = try makeContainer()
        result = try await taken.run(["container", "init", "--upstream", upstream.conninfo, "--slot", "taken"])
        XCTAssertEqual(result.exitCode, 1)
        XCTAssertTrue(result.stderr.contains("replication slot 'taken' already exists"), result.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: taken.path))
        try upstream.sql("SELECT pg_drop_replication_slot('taken')")

        // A password in the conninfo.
        result = try await taken.run(["container", "init", "--upstream", upstream.conninfo + " password=hunter2"])
        XCTAssertEqual(result.exitCode, 1)
        XCTAssertTrue(result.stderr.contains(".pgpass"), result.stderr)
        XCTAssertFalse(result.stderr.contains("hunter2"), result.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: taken.path))

        XCTAssertEqual(try upstream.scalar("SELECT count(*) FROM pg_replication_slots"), slotsBefore)

        // wal_level = minimal.
        let minimal = try await UpstreamCluster(name: "minimal", settings: ["wal_level": "minimal", "max_wal_senders": "0"])
        upstreams.append(minimal)
        let m = try makeContainer()
        result = try await m.run(["container", "init", "--upstream", minimal.conninfo])
        XCTAssertEqual(result.exitCode, 1)
        XCTAssertTrue(result.stderr.contains("wal_level = minimal; set wal_level = replica"), result.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: m.path))
        XCTAssertEqual(try minimal.scalar("SELECT count(*) FROM pg_replication_slots"), "0")

        // Commands on a path that is not a container.
        result = try await PGArchiveBinary().run(["container", "status", "-C", plain])
        XCTAssertEqual(result.exitCode, 1)
        XCTAssertTrue(result.stderr.contains("is not a pgarchive container"), result.stderr)
    }

    func testInitDoesNotWaitForAFailingArchiveCommand() async throws {
        // An upstream whose own archiving is broken: pg_basebackup --wal-method=none would wait
        // for its WAL to be archived for ever. Bounded by timeout(1), so a regression fails
        // (exit 124) instead of hanging.
        let upstream = try await makeUpstream(settings: ["archive_mode": "on", "archive_command": "'/bin/false'"])
        let container = try makeContainer()
        let result = try await ToolCommand(executable: "timeout", arguments: [
            "120", container.binary.path, "container", "init", "-C", container.path, "--upstream", upstream.conninfo,
        ], environment: container.binary.environment).run()
        XCTAssertNotEqual(result.exitCode, 124, "container init hung on an upstream whose archive_command fails")
        XCTAssertEqual(result.exitCode, 0, result.standardError)
        try mark(upstream, "archive-broken")
        await assertReplays(container, "archive-broken")
    }

    func testInterruptedInitRollsBackEverything() async throws {
        let upstream = try await makeUpstream()
        try await upstream.pgbenchInit(scale: 5)
        let container = try makeContainer()
        // Start init in the background and send SIGTERM as soon as pg_receivewal runs (the slot
        // exists by then). Its output goes to a log beside the container, which init removes.
        let log = container.scratch + "/init.log"
        let pid = try ToolCommand(executable: container.binary.path,
                                  arguments: ["container", "init", "-C", container.path, "--upstream", upstream.conninfo],
                                  environment: container.binary.environment).spawnDetached(logFile: log)
        let receiverStarted = await eventually(timeout: 30, interval: 0.02) {
            FileManager.default.fileExists(atPath: container.layout.receiverPidFile) || !Processes.isAlive(pid)
        }
        XCTAssertTrue(receiverStarted)
        let receiver = container.receiverPID()
        kill(pid, SIGTERM)
        XCTAssertTrue(Processes.waitForExit(pid, timeout: 120), "container init did not end after SIGTERM")
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        XCTAssertTrue(text.contains("container init failed and was rolled back"), text)
        XCTAssertEqual(try upstream.scalar("SELECT count(*) FROM pg_replication_slots"), "0", "the slot survived the interrupted init")
        XCTAssertFalse(FileManager.default.fileExists(atPath: container.path), "the half-made container survived")
        if let receiver { XCTAssertTrue(Processes.waitForExit(receiver, timeout: 10), "pg_receivewal \(receiver) survived") }
    }

    func testPasswordNeverAppearsInProcessList() async throws {
        let secret = "s3cret-\(UUID().uuidString.prefix(8))"
        let upstream = try await makeUpstream(settings: ["password_encryption": "'scram-sha-256'"])
        try upstream.sql("CREATE ROLE archiver LOGIN SUPERUSER REPLICATION PASSWORD '\(secret)'")
        // Require the password for archiver; postgres keeps trust for the test's own use.
        let hba = upstream.dataDirectory + "/pg_hba.conf"
        let original = try String(contentsOfFile: hba, encoding: .utf8)
        try ("local all archiver scram-sha-256\nlocal replication archiver scram-sha-256\n" + original).write(toFile: hba, atomically: true, encoding: .utf8)
        _ = try upstream.scalar("SELECT pg_reload_conf()")

        let passfile = upstream.directory + "/pgpass"
        try "*:*:*:archiver:\(secret)\n".write(toFile: passfile, atomically: true, encoding: .utf8)
        chmod(passfile, 0o600)
        let container = try makeContainer(environment: ["PGPASSFILE": passfile])
        let conninfo = "host=\(upstream.socketDirectory) port=\(upstream.port) user=archiver dbname=postgres"
        // Without the password file the upstream refuses: the password really is required.
        let refused = try await PGArchiveBinary().run(["container", "init", "-C", container.path, "--upstream", conninfo], environment: ["PGPASSFILE": "/nonexistent"])
        XCTAssertEqual(refused.exitCode, 1)
        XCTAssertTrue(refused.stderr.contains("password"), refused.stderr)

        try await container.ok(["container", "init", "--upstream", conninfo])
        try mark(upstream, "with-password")
        await assertReplays(container, "with-password")

        let ps = try await ToolCommand(executable: "ps", arguments: ["-eo", "pid,args"]).runChecked()
        XCTAssertTrue(ps.standardOutput.contains("pg_receivewal"), ps.standardOutput)
        XCTAssertFalse(ps.standardOutput.contains(secret), "the password shows in ps")
        let receiverArgv = Processes.commandLine(of: try XCTUnwrap(container.receiverPID()))?.joined(separator: " ") ?? ""
        XCTAssertTrue(receiverArgv.contains("user=archiver"), receiverArgv)
        XCTAssertFalse(receiverArgv.contains(secret))
        let conf = try String(contentsOfFile: container.layout.configFile, encoding: .utf8)
        XCTAssertFalse(conf.contains(secret))
        XCTAssertTrue(conf.contains("passfile=\(passfile)"), "init records the password file for cron: \(conf)")
        // A restart without PGPASSFILE in the environment (as from cron) still authenticates.
        try await container.ok(["container", "stop"])
        let restarted = try await PGArchiveBinary().run(["container", "start", "-C", container.path], environment: ["PGPASSFILE": nil])
        XCTAssertEqual(restarted.exitCode, 0, "\(restarted)")
        try mark(upstream, "after-restart")
        await assertReplays(container, "after-restart")
    }
}
