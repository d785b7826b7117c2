import Foundation
import PGArchiveCore
import PGArchiveTestSupport
import Postgres
import XCTest

// MARK: - helpers of these tests

/// Inserts one row into `markers` about every `interval` on its own connection, until
/// stopped or `limit` rows are written (it always ends by itself). `pause()` parks it
/// between two inserts, so a test can do something (take an LSN, create a restore point)
/// with a known last marker before it and the next one after it.
final class MarkerWriter: @unchecked Sendable {
    private let lock = NSLock()
    private var stopRequested = false
    private var pauseRequested = false
    private var parked = false
    private var last = 0
    private var failure: String?
    private var task: Task<Void, Never>?

    init(upstream: UpstreamCluster, interval: Duration = .milliseconds(100), limit: Int = 600) {
        task = Task { [self] in await self.loop(upstream: upstream, interval: interval, limit: limit) }
    }

    /// The id of the newest marker whose INSERT has returned (committed).
    var lastID: Int { lock.withLock { last } }
    var error: String? { lock.withLock { failure } }

    private func loop(upstream: UpstreamCluster, interval: Duration, limit: Int) async {
        let connection: Connection
        do { connection = try upstream.connect() } catch {
            lock.withLock { failure = "marker writer cannot connect: \(error)" }
            return
        }
        defer { connection.close() }
        for _ in 0..<limit {
            while true {
                let (stop, pause) = lock.withLock { () -> (Bool, Bool) in
                    parked = pauseRequested && !stopRequested
                    return (stopRequested, pauseRequested)
                }
                if stop { return }
                if !pause { break }
                try? await Task.sleep(for: .milliseconds(5))
            }
            do {
                let id = try connection.query("INSERT INTO markers (note) VALUES ('writer') RETURNING id").rows.first?[0].flatMap { Int($0) }
                lock.withLock { last = id ?? last }
            } catch {
                lock.withLock { failure = "marker insert failed: \(error)" }
                return
            }
            try? await Task.sleep(for: interval)
        }
    }

    /// Parks the writer between two inserts; returns the last marker written before the pause.
    func pause() async throws -> Int {
        lock.withLock { pauseRequested = true }
        let isParked = await eventually(timeout: 30, interval: 0.01) { self.lock.withLock { self.parked } }
        guard isParked else { throw PGArchiveTestError("the marker writer did not pause (error: \(error ?? "none"))") }
        return lastID
    }

    func resume() { lock.withLock { pauseRequested = false; parked = false } }

    /// Waits until marker `id` has been written.
    func waitFor(_ id: Int, timeout: TimeInterval = 60) async throws {
        let reached = await eventually(timeout: timeout, interval: 0.05) { self.lastID >= id || self.error != nil }
        if let error { throw PGArchiveTestError(error) }
        guard reached else { throw PGArchiveTestError("the marker writer did not reach marker \(id) (at \(lastID))") }
    }

    /// Stops the writer and waits for it; returns the last marker written.
    @discardableResult
    func stop() async -> Int {
        lock.withLock { stopRequested = true; pauseRequested = false }
        await task?.value
        return lastID
    }
}

/// A data directory written by `pgarchive restore` that this test started with pg_ctl.
struct StartedServer {
    var dataDirectory: String
    var scratch: String
}

final class PITRIntegrationTests: XCTestCase {
    var upstreams: [UpstreamCluster] = []
    var containers: [ContainerFixture] = []
    var writers: [MarkerWriter] = []
    var restoredServers: [StartedServer] = []

    static var pgCtl: String { UpstreamCluster.bindir + "/pg_ctl" }

    override func tearDown() async throws {
        for writer in writers { await writer.stop() }
        // Servers this test started itself, by pg_ctl on their data directory.
        for server in restoredServers {
            if FileManager.default.fileExists(atPath: server.dataDirectory + "/postmaster.pid") {
                _ = try? await ToolCommand(executable: Self.pgCtl, arguments: ["-D", server.dataDirectory, "-m", "immediate", "-w", "-t", "60", "stop"]).run()
            }
            try? FileManager.default.removeItem(atPath: server.scratch)
        }
        for container in containers.reversed() {
            await container.stopClones()
            await container.destroy()
        }
        for upstream in upstreams.reversed() { await upstream.destroy() }
        writers = []
        restoredServers = []
        containers = []
        upstreams = []
    }

    // MARK: fixtures

    func makeUpstream(settings extra: [String: String] = [:]) async throws -> UpstreamCluster {
        var settings = ["track_commit_timestamp": "on"]
        for (k, v) in extra { settings[k] = v }
        let upstream = try await UpstreamCluster(name: "pitr", settings: settings)
        upstreams.append(upstream)
        try upstream.sql("CREATE TABLE markers (id serial PRIMARY KEY, note text NOT NULL, xid bigint DEFAULT txid_current(), at timestamptz DEFAULT clock_timestamp())")
        return upstream
    }

    func makeContainer(_ name: String = "c") throws -> ContainerFixture {
        let container = try ContainerFixture(name: name)
        containers.append(container)
        return container
    }

    func startWriter(_ upstream: UpstreamCluster, limit: Int = 600) -> MarkerWriter {
        let writer = MarkerWriter(upstream: upstream, limit: limit)
        writers.append(writer)
        return writer
    }

    @discardableResult
    func mark(_ upstream: UpstreamCluster, _ note: String) throws -> Int {
        try XCTUnwrap(Int(try XCTUnwrap(upstream.scalar("INSERT INTO markers (note) VALUES ($1) RETURNING id", [note]))))
    }

    /// A snapshot at a new restartpoint: the upstream checkpoints, its segment is closed,
    /// the standby replays past it, then `snapshot create`. Also returns the newest marker
    /// committed before that checkpoint (every clone of the snapshot is consistent past it).
    func freshSnapshot(_ container: ContainerFixture, _ upstream: UpstreamCluster,
                       file: StaticString = #filePath, line: UInt = #line) async throws -> (SnapshotMetadata, Int) {
        let committed = Int(try upstream.scalar("SELECT coalesce(max(id), 0) FROM markers") ?? "0") ?? 0
        try upstream.sql("CHECKPOINT")
        let switched = try XCTUnwrap(upstream.scalar("SELECT pg_switch_wal()"), file: file, line: line)
        let replayed = await eventually(timeout: 60, interval: 0.2) {
            container.standbyScalar("SELECT pg_last_wal_replay_lsn() >= '\(switched)'::pg_lsn") == "t"
        }
        XCTAssertTrue(replayed, "the standby did not replay past \(switched)", file: file, line: line)
        let result = try await container.ok(["snapshot", "create"], file: file, line: line)
        let name = result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        return (try SnapshotStore(layout: container.layout).get(name), committed)
    }

    /// Waits until the archive holds the WAL up to `lsn`, byte for byte as the upstream wrote
    /// it (the segment complete or still `.partial`); returns the segment and whether it is partial.
    func waitUntilArchived(_ upstream: UpstreamCluster, _ container: ContainerFixture, through lsn: String,
                           file: StaticString = #filePath, line: UInt = #line) async throws -> (segment: String, partial: Bool) {
        let connection = try upstream.connect()
        let row = try connection.query("SELECT file_name, file_offset FROM pg_walfile_name_offset($1::pg_lsn)", [lsn]).singleRow()
        connection.close()
        let segment = try row.string("file_name")
        let length = try row.int("file_offset")
        func prefix(_ path: String) -> Data? {
            guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
            defer { try? handle.close() }
            return try? handle.read(upToCount: length)
        }
        let archive = container.layout.walArchive + "/" + segment
        var partial = false
        let same = await eventually(timeout: 60, interval: 0.2) {
            guard let source = prefix(upstream.dataDirectory + "/pg_wal/" + segment), source.count == length else { return false }
            for (candidate, isPartial) in [(archive + ".partial", true), (archive, false)] {
                if let copy = prefix(candidate), copy == source { partial = isPartial; return true }
            }
            return false
        }
        XCTAssertTrue(same, "pg_receivewal did not write the WAL up to \(lsn) into \(archive)[.partial]", file: file, line: line)
        return (segment, partial)
    }

    // MARK: clones

    func cloneMetadata(_ container: ContainerFixture, _ name: String) throws -> CloneMetadata {
        let data = try Data(contentsOf: URL(fileURLWithPath: container.layout.clone(name) + "/pgarchive.clone.json"))
        return try SnapshotStore.decoder.decode(CloneMetadata.self, from: data)
    }

    func cloneConnection(_ container: ContainerFixture, _ name: String) throws -> Connection {
        let metadata = try cloneMetadata(container, name)
        return try Connection(conninfo: "host=\(container.layout.run) port=\(metadata.port) dbname=postgres user=\(try container.config().standbyUser)", connectTimeout: 5)
    }

    func cloneLogTail(_ container: ContainerFixture, _ name: String) -> String {
        let text = (try? String(contentsOfFile: container.layout.logs + "/clone_\(name).log", encoding: .utf8)) ?? "(no log)"
        return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(25).joined(separator: "\n")
    }

    func ids(_ connection: Connection, where condition: String = "true", _ params: [String?] = []) throws -> [Int] {
        try connection.query("SELECT id FROM markers WHERE \(condition) ORDER BY id", params).rows.map { Int($0[0]!)! }
    }

    /// The clone is promoted on timeline 2 and holds exactly `expected` marker ids.
    func assertClone(_ container: ContainerFixture, _ name: String, hasExactly expected: [Int], _ what: String,
                     file: StaticString = #filePath, line: UInt = #line) throws {
        let connection = try cloneConnection(container, name)
        defer { connection.close() }
        let got = try ids(connection)
        XCTAssertEqual(got, expected, "clone \(name) (\(what)): marker ids differ; missing \(Set(expected).subtracting(got).sorted()), extra \(Set(got).subtracting(expected).sorted())\n\(cloneLogTail(container, name))", file: file, line: line)
        XCTAssertEqual(try connection.query("SELECT pg_is_in_recovery()").rows.first?[0], "f", "clone \(name) is not promoted", file: file, line: line)
        // The timeline it writes on (pg_control's checkpoint shows it only once the background
        // end-of-recovery checkpoint is done).
        XCTAssertEqual(try connection.query("SELECT substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8)").rows.first?[0], "00000002", "clone \(name) timeline", file: file, line: line)
    }

    /// pgarchive promoted the clone with pg_promote() (ClonePromotion): its server log shows
    /// the promote request and the end-of-recovery checkpoint running in the background
    /// (`checkpoint starting: force`), never the blocking `end-of-recovery immediate wait`.
    func assertPromotedWithoutBlockingCheckpoint(_ container: ContainerFixture, _ name: String,
                                                 file: StaticString = #filePath, line: UInt = #line) async throws {
        let path = container.layout.logs + "/clone_\(name).log"
        var text = ""
        for _ in 0..<40 {
            text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
            if text.contains("checkpoint starting: force") { break }
            try await Task.sleep(for: .milliseconds(250))
        }
        XCTAssertTrue(text.contains("received promote request"), "clone \(name) was not promoted by pg_promote()\n\(cloneLogTail(container, name))", file: file, line: line)
        XCTAssertTrue(text.contains("checkpoint starting: force"), "clone \(name): no background checkpoint\n\(cloneLogTail(container, name))", file: file, line: line)
        XCTAssertFalse(text.contains("end-of-recovery immediate wait"), "clone \(name) waited for its end-of-recovery checkpoint\n\(cloneLogTail(container, name))", file: file, line: line)
    }

    /// `2026-11-21T08:15:00.123456Z` of a timestamptz expression evaluated on `connection`.
    func isoTime(_ connection: Connection, _ expression: String, _ params: [String?] = []) throws -> String {
        try XCTUnwrap(connection.query("SELECT to_char((\(expression)) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US') || 'Z'", params).rows.first?[0])
    }

    /// No live postmaster for the clone, and `clone status` says so with exit 1.
    func assertCloneNotRunning(_ container: ContainerFixture, _ name: String, file: StaticString = #filePath, line: UInt = #line) async throws {
        if let pid = Processes.readPIDFile(container.layout.clone(name) + "/postmaster.pid") {
            let alive = Processes.isAlive(pid) && Processes.commandLine(of: pid)?.first?.hasSuffix("postgres") == true
            XCTAssertFalse(alive, "clone \(name)'s postmaster (pid \(pid)) is still running", file: file, line: line)
        }
        let status = try await container.run(["clone", "status", name])
        XCTAssertEqual(status.exitCode, 1, "clone status \(name): \(status)", file: file, line: line)
    }

    func listing(_ directory: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
    }

    // MARK: - 1. every target kind, under load

    func testEveryTargetKindIsExactUnderLoad() async throws {
        let upstream = try await makeUpstream()
        try await upstream.pgbenchInit(scale: 1)
        let container = try makeContainer()
        try await container.initContainer(upstream: upstream)

        let bench = Task { try await upstream.pgbench(seconds: 15) }
        let writer = startWriter(upstream)
        try await writer.waitFor(5)

        // The early snapshot, taken under load.
        let (snapshot, committedBeforeCheckpoint) = try await freshSnapshot(container, upstream)
        let s = writer.lastID
        XCTAssertGreaterThanOrEqual(committedBeforeCheckpoint, 5)

        // --lsn: the insert position while the writer is parked after marker kLSN.
        try await writer.waitFor(s + 8)
        let kLSN = try await writer.pause()
        let lsnTarget = try XCTUnwrap(upstream.scalar("SELECT pg_current_wal_insert_lsn()"))
        writer.resume()

        // --restore-point: made through pgarchive while the writer is parked after marker kRP.
        try await writer.waitFor(kLSN + 4)
        let kRP = try await writer.pause()
        try await container.ok(["restorepoint", "create", "rp-under-load"])
        writer.resume()
        let points = try await container.ok(["restorepoint", "list"])
        XCTAssertTrue(points.stdout.contains("rp-under-load"), points.stdout)

        try await writer.waitFor(kRP + 4)
        try await bench.value
        // A few markers after the load: the newest sit in the segment still being received.
        try await writer.waitFor(writer.lastID + 3)
        let newest = await writer.stop()
        XCTAssertNil(writer.error)
        let flushed = try XCTUnwrap(upstream.scalar("SELECT pg_current_wal_flush_lsn()"))
        let received = try await waitUntilArchived(upstream, container, through: flushed)
        XCTAssertTrue(received.partial, "the newest marker should sit in \(received.segment).partial, the segment still being received")

        let db = try upstream.connect()
        defer { db.close() }
        let all = try ids(db)
        XCTAssertEqual(all, Array(1...newest), "the writer's markers are gap-free")

        // --time: halfway between the commits of two markers after the snapshot is restorable
        // (its consistentFrom lies a second after its checkpoint; under load several markers
        // can commit in that second, and a target there rightly goes to an older snapshot).
        let kTime = try XCTUnwrap(ids(db, where: "id >= $1 AND pg_xact_commit_timestamp(xmin) > $2::timestamptz",
                                      [String(s + 2), ISO8601.utcMicroseconds(snapshot.consistentFrom)]).first,
                                  "no marker committed after the snapshot became restorable")
        let timeTarget = try isoTime(db, "(SELECT pg_xact_commit_timestamp(xmin) FROM markers WHERE id = $1) + ((SELECT pg_xact_commit_timestamp(xmin) FROM markers WHERE id = $2) - (SELECT pg_xact_commit_timestamp(xmin) FROM markers WHERE id = $1)) / 2", [String(kTime), String(kTime + 1)])
        let expectedTime = try ids(db, where: "pg_xact_commit_timestamp(xmin) <= $1::timestamptz", [timeTarget])
        XCTAssertEqual(expectedTime, Array(1...kTime), "commit timestamps of the sequential writer are ordered")

        // --xid: the transaction of marker s+5.
        let kXID = s + 5
        let xid = try XCTUnwrap(db.query("SELECT xid FROM markers WHERE id = $1", [String(kXID)]).rows.first?[0])

        // Each target lies strictly inside what the archive holds.
        for k in [kTime, kXID, kLSN, kRP] {
            XCTAssertGreaterThan(k, committedBeforeCheckpoint)
            XCTAssertLessThan(k, newest)
        }

        print("PITR under load: \(newest) markers; snapshot \(snapshot.name) after marker \(committedBeforeCheckpoint) (returned at \(s)); targets: time after \(kTime), xid \(xid) of \(kXID), lsn \(lsnTarget) after \(kLSN), restore point after \(kRP); pgbench rows in history: \(try upstream.scalar("SELECT count(*) FROM pgbench_history") ?? "?")")
        try await container.ok(["clone", "create", "at-time", "--time", timeTarget, "--start"])
        try assertClone(container, "at-time", hasExactly: expectedTime, "--time \(timeTarget)")
        try await container.ok(["clone", "stop", "at-time"])

        try await container.ok(["clone", "create", "at-lsn", "--lsn", lsnTarget, "--start"])
        try assertClone(container, "at-lsn", hasExactly: Array(1...kLSN), "--lsn \(lsnTarget), taken after marker \(kLSN)")
        try await container.ok(["clone", "stop", "at-lsn"])

        try await container.ok(["clone", "create", "at-xid", "--xid", xid, "--start"])
        try assertClone(container, "at-xid", hasExactly: Array(1...kXID), "--xid \(xid) of marker \(kXID)")
        try await container.ok(["clone", "stop", "at-xid"])

        try await container.ok(["clone", "create", "at-rp", "--restore-point", "rp-under-load", "--start"])
        try assertClone(container, "at-rp", hasExactly: Array(1...kRP), "--restore-point made after marker \(kRP)")
        try await container.ok(["clone", "stop", "at-rp"])

        // --immediate: consistent at the snapshot: a gap-free prefix holding every marker
        // committed before its restartpoint's checkpoint and none committed after it was taken.
        try await container.ok(["clone", "create", "at-immediate", "--immediate", "--start"])
        let immediate = try cloneConnection(container, "at-immediate")
        let immediateIDs = try ids(immediate)
        immediate.close()
        let afterTaken = try ids(db, where: "pg_xact_commit_timestamp(xmin) > $1::timestamptz", [ISO8601.utcMicroseconds(snapshot.takenAt)])
        XCTAssertEqual(immediateIDs, Array(stride(from: 1, through: immediateIDs.count, by: 1)), "immediate: ids are not a gap-free prefix")
        XCTAssertTrue(Set(immediateIDs).isDisjoint(with: afterTaken), "immediate: markers committed after the snapshot was taken (\(ISO8601.utcMicroseconds(snapshot.takenAt))) are present: \(Set(immediateIDs).intersection(afterTaken).sorted())")
        XCTAssertGreaterThanOrEqual(immediateIDs.count, committedBeforeCheckpoint, "immediate: markers committed before the snapshot's checkpoint are missing")
        try assertClone(container, "at-immediate", hasExactly: immediateIDs, "--immediate")
        try await container.ok(["clone", "stop", "at-immediate"])

        // --latest: everything, including the newest marker in the .partial segment.
        try await container.ok(["clone", "create", "at-latest", "--latest", "--start"])
        try assertClone(container, "at-latest", hasExactly: all, "--latest (newest marker \(newest) in \(received.segment).partial)")

        for name in ["at-time", "at-lsn", "at-xid", "at-rp", "at-immediate", "at-latest"] {
            XCTAssertEqual(try cloneMetadata(container, name).snapshot, snapshot.name, "clone \(name) is based on the early snapshot")
            try await assertPromotedWithoutBlockingCheckpoint(container, name)
        }
        XCTAssertEqual(try cloneMetadata(container, "at-xid").target, .xid(UInt64(xid)!))
        XCTAssertEqual(try cloneMetadata(container, "at-rp").target, .restorePoint("rp-under-load"))
        // Clones never write into the archive: no timeline 2 there.
        XCTAssertFalse(listing(container.layout.walArchive).contains { $0.hasPrefix("00000002") }, "\(listing(container.layout.walArchive))")
    }

    // MARK: - 1b. the second of a restartpoint

    /// pg_control keeps a checkpoint's time in whole seconds. A commit made early in that
    /// second, just before the checkpoint, lies before the snapshot's REDO point: a clone of
    /// the snapshot contains it, and PostgreSQL cannot tell, so a time target between the
    /// start of that second and the commit must be served from an older snapshot. (A standby
    /// that has replayed no commit since its restartpoint, as after a restart on a quiet
    /// upstream, gives pgarchive no later commit time to go by.)
    func testTimeTargetInTheSecondOfARestartpointIsExact() async throws {
        let upstream = try await makeUpstream(settings: ["autovacuum": "off"])
        let container = try makeContainer()
        try await container.initContainer(upstream: upstream)
        let initial = try XCTUnwrap(SnapshotStore(layout: container.layout).list().first)
        try mark(upstream, "old")
        let db = try upstream.connect()
        defer { db.close() }
        // Commit A early in a wall-clock second, then the upstream checkpoints in that second.
        var a = 0
        var sameSecond: String?
        for _ in 0..<3 {
            // Well after the previous marker, so a target 20 ms before A falls after it.
            try await Task.sleep(for: .milliseconds(100))
            _ = await eventually(timeout: 5, interval: 0.01) {
                let fraction = Date().timeIntervalSince1970.truncatingRemainder(dividingBy: 1)
                return fraction > 0.1 && fraction < 0.4
            }
            a = try mark(upstream, "A")
            try upstream.sql("CHECKPOINT")
            sameSecond = try db.query("""
                SELECT date_trunc('second', pg_xact_commit_timestamp(xmin)) = (SELECT checkpoint_time FROM pg_control_checkpoint())
                FROM markers WHERE id = $1
                """, [String(a)]).rows.first?[0]
            if sameSecond == "t" { break }
        }
        XCTAssertEqual(sameSecond, "t", "could not commit A in the second of a checkpoint")
        let switched = try XCTUnwrap(upstream.scalar("SELECT pg_switch_wal()"))
        let replayed = await eventually(timeout: 60, interval: 0.2) {
            container.standbyScalar("SELECT pg_last_wal_replay_lsn() >= '\(switched)'::pg_lsn") == "t"
        }
        XCTAssertTrue(replayed)
        // Restarted, the standby replays from that checkpoint on: no commit after it.
        try await container.ok(["container", "stop"])
        try await container.ok(["container", "start"])
        let created = try await container.ok(["snapshot", "create"])
        let restarted = try SnapshotStore(layout: container.layout).get(created.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        XCTAssertNotEqual(restarted.name, initial.name)
        let b = try mark(upstream, "B")
        let flushed = try XCTUnwrap(upstream.scalar("SELECT pg_current_wal_flush_lsn()"))
        _ = try await waitUntilArchived(upstream, container, through: flushed)

        let target = try isoTime(db, "(SELECT pg_xact_commit_timestamp(xmin) FROM markers WHERE id = $1) - interval '20 ms'", [String(a)])
        let expected = try ids(db, where: "pg_xact_commit_timestamp(xmin) <= $1::timestamptz", [target])
        XCTAssertEqual(expected, Array(1..<a), "every marker before A, and not A")
        XCTAssertLessThan(a, b)
        let commitA = try isoTime(db, "(SELECT pg_xact_commit_timestamp(xmin) FROM markers WHERE id = $1)", [String(a)])
        let context = "--time \(target), 20 ms before A committed (\(commitA)); snapshot \(restarted.name) (after the standby restart) says restorable from \(ISO8601.utcMicroseconds(restarted.consistentFrom))"
        let result = try await container.run(["clone", "create", "before-a", "--time", target, "--start"])
        XCTAssertEqual(result.exitCode, 0, "\(context): \(result)")
        if result.exitCode == 0 {
            try assertClone(container, "before-a", hasExactly: expected, "\(context); based on \(try cloneMetadata(container, "before-a").snapshot)")
        }
    }

    // MARK: - 2. unreachable targets

    func testTargetsOutsideTheArchiveAreRefusedClearly() async throws {
        // No autovacuum: the last marker is the last commit in the archive.
        let upstream = try await makeUpstream(settings: ["autovacuum": "off"])
        let container = try makeContainer()
        try await container.initContainer(upstream: upstream)
        let early = try mark(upstream, "early")
        try await Task.sleep(for: .milliseconds(200))
        let early2 = try mark(upstream, "early-2")
        let db = try upstream.connect()
        defer { db.close() }
        // Between two commits that the snapshot below already contains.
        let earlyTime = try isoTime(db, "(SELECT pg_xact_commit_timestamp(xmin) FROM markers WHERE id = $1) + ((SELECT pg_xact_commit_timestamp(xmin) FROM markers WHERE id = $2) - (SELECT pg_xact_commit_timestamp(xmin) FROM markers WHERE id = $1)) / 2", [String(early), String(early2)])
        let earlyLSN = try XCTUnwrap(upstream.scalar("SELECT pg_current_wal_lsn()"))
        let earlyXID = try XCTUnwrap(upstream.scalar("SELECT xid FROM markers WHERE id = $1", [String(early)]))
        try await container.ok(["restorepoint", "create", "rp-early"])
        let initial = try SnapshotStore(layout: container.layout).list().map(\.name)
        let (snapshot, _) = try await freshSnapshot(container, upstream)
        // Drop the snapshot `container init` took, which could still reach the early marker:
        // the snapshot taken after it becomes the oldest.
        try await container.ok(["snapshot", "delete"] + initial)
        XCTAssertEqual(try SnapshotStore(layout: container.layout).list().map(\.name), [snapshot.name])

        let before: [(String, [String], String)] = [
            ("old-time", ["--time", earlyTime], "is before the oldest snapshot's consistent point"),
            ("old-lsn", ["--lsn", earlyLSN], "is before the oldest snapshot's consistent point"),
            ("old-rp", ["--restore-point", "rp-early"], "is before the oldest snapshot's consistent point"),
            ("old-xid", ["--xid", earlyXID], "had already committed (or aborted) when the oldest snapshot"),
        ]
        for (name, target, text) in before {
            let result = try await container.run(["clone", "create", name] + target + ["--start"])
            XCTAssertEqual(result.exitCode, 1, "\(target): \(result)")
            XCTAssertTrue(result.stderr.contains(text), "\(target): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains(snapshot.name), "the error names the oldest snapshot: \(result.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: container.layout.clone(name)), "clones/\(name) was left behind")
        }
        XCTAssertEqual(listing(container.layout.clones), [])

        // A time after the last commit the archive holds.
        let last = try mark(upstream, "last")
        try await Task.sleep(for: .seconds(2.5))
        let late = ISO8601.utcMicroseconds(Date().addingTimeInterval(-1))
        XCTAssertEqual(try db.query("SELECT max(pg_xact_commit_timestamp(xmin)) < $1::timestamptz FROM markers", [late]).rows.first?[0], "t",
                       "marker \(last) must have committed before the target \(late)")
        let created = try await container.run(["clone", "create", "too-late", "--time", late, "--start"])
        XCTAssertEqual(created.exitCode, 1, "\(created)")
        XCTAssertTrue(created.stderr.contains("the archive's WAL ends before the target"), created.stderr)
        try await assertCloneNotRunning(container, "too-late")

        let again = try await container.run(["clone", "start", "too-late"])
        XCTAssertEqual(again.exitCode, 1, "\(again)")
        XCTAssertTrue(again.stderr.contains("the archive's WAL ends before the target"), again.stderr)
        try await assertCloneNotRunning(container, "too-late")
    }

    // MARK: - 3. two clones side by side

    func testTwoClonesOfOneSnapshotDivergeIndependently() async throws {
        let upstream = try await makeUpstream()
        let container = try makeContainer()
        try await container.initContainer(upstream: upstream)
        for i in 1...3 { try mark(upstream, "base-\(i)") }
        let (snapshot, _) = try await freshSnapshot(container, upstream)

        try await container.ok(["clone", "create", "left", "--snapshot", snapshot.name, "--start"])
        try await container.ok(["clone", "create", "right", "--snapshot", snapshot.name, "--start"])
        let left = try cloneMetadata(container, "left"), right = try cloneMetadata(container, "right")
        XCTAssertEqual(left.snapshot, snapshot.name)
        XCTAssertEqual(right.snapshot, snapshot.name)
        XCTAssertNotEqual(left.port, right.port)

        let l = try cloneConnection(container, "left")
        let r = try cloneConnection(container, "right")
        defer { r.close() }
        XCTAssertEqual(try ids(l), [1, 2, 3])
        XCTAssertEqual(try ids(r), [1, 2, 3])
        _ = try l.execute("INSERT INTO markers (note) VALUES ('only-left'), ('only-left')")
        _ = try l.execute("CREATE TABLE left_only (x int)")
        _ = try r.execute("INSERT INTO markers (note) VALUES ('only-right')")
        func notes(_ c: Connection) throws -> [String] { try c.query("SELECT note FROM markers ORDER BY id").rows.map { $0[0]! } }
        XCTAssertEqual(try notes(l), ["base-1", "base-2", "base-3", "only-left", "only-left"])
        XCTAssertEqual(try notes(r), ["base-1", "base-2", "base-3", "only-right"])
        XCTAssertEqual(try r.query("SELECT to_regclass('left_only') IS NULL").rows.first?[0], "t")
        l.close()
        XCTAssertEqual(try upstream.scalar("SELECT count(*) FROM markers WHERE note LIKE 'only-%'"), "0")
        XCTAssertEqual(container.standbyScalar("SELECT count(*) FROM markers WHERE note LIKE 'only-%'"), "0")

        let leftPID = try XCTUnwrap(Processes.readPIDFile(container.layout.clone("left") + "/postmaster.pid"))
        try await container.ok(["clone", "delete", "left", "--force"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: container.layout.clone("left")))
        XCTAssertFalse(Processes.isAlive(leftPID), "the deleted clone's postmaster is still running")

        let status = try await container.run(["clone", "status", "right"])
        XCTAssertEqual(status.exitCode, 0, "\(status)")
        XCTAssertEqual(try notes(r), ["base-1", "base-2", "base-3", "only-right"], "the other clone survives intact, on the same connection")
        XCTAssertEqual(try r.query("SELECT pg_is_in_recovery()").rows.first?[0], "f")
        let list = try await container.ok(["clone", "list", "--json"])
        let clones = try SnapshotStore.decoder.decode([CloneMetadata].self, from: Data(list.stdout.utf8))
        XCTAssertEqual(clones.map(\.name), ["right"])
    }

    // MARK: - 4. expiry keeps what kept snapshots need

    func testExpireKeepsTheWALKeptSnapshotsNeed() async throws {
        let upstream = try await makeUpstream()
        let container = try makeContainer()
        try mark(upstream, "before-first")
        // The first snapshot is the one `container init` takes at its base backup's checkpoint.
        try await container.initContainer(upstream: upstream)
        let initial = try SnapshotStore(layout: container.layout).list()
        XCTAssertEqual(initial.count, 1, "container init takes one snapshot")
        let first = try XCTUnwrap(initial.first)
        try await Task.sleep(for: .seconds(1.5)) // restartpoints (and names) a second apart
        try mark(upstream, "before-second")
        let (second, _) = try await freshSnapshot(container, upstream)
        // "Just after it" means after the time from which it is restorable: pg_control keeps
        // the restartpoint's time in whole seconds, so that is the next second.
        let wait = second.consistentFrom.timeIntervalSinceNow + 0.05
        if wait > 0 { try await Task.sleep(for: .milliseconds(Int(wait * 1000))) }
        let afterSecond = try mark(upstream, "after-second")
        try await Task.sleep(for: .seconds(1.5))
        let (third, _) = try await freshSnapshot(container, upstream)
        try mark(upstream, "after-third")
        XCTAssertEqual(Set([first.name, second.name, third.name]).count, 3, "three distinct restartpoints")
        XCTAssertLessThan(first.redoSegment.segmentNumber()!, second.redoSegment.segmentNumber()!)

        let expireDate = ISO8601.utcMicroseconds(first.checkpointTime.addingTimeInterval(0.5))
        XCTAssertLessThan(first.checkpointTime.addingTimeInterval(0.5), second.checkpointTime)
        let env: [String: String?] = ["EXPIRE_DATE": expireDate]
        let snapshotsBefore = listing(container.layout.snapshots)
        let walBefore = listing(container.layout.walArchive)

        let shown = try await container.run(["snapshot", "expire", "--show"], environment: env)
        XCTAssertEqual(shown.exitCode, 0, "\(shown)")
        XCTAssertTrue(shown.stdout.contains("would delete snapshot \(first.name)"), shown.stdout)
        XCTAssertFalse(shown.stdout.contains(second.name) || shown.stdout.contains(third.name), shown.stdout)
        XCTAssertEqual(listing(container.layout.snapshots), snapshotsBefore, "--show changed the snapshots")
        let walAfterShow = Set(listing(container.layout.walArchive))
        XCTAssertEqual(Set(walBefore).subtracting(walAfterShow), [], "--show deleted WAL")

        let expired = try await container.run(["snapshot", "expire"], environment: env)
        XCTAssertEqual(expired.exitCode, 0, "\(expired)")
        XCTAssertTrue(expired.stdout.contains("delete snapshot \(first.name)"), expired.stdout)
        XCTAssertEqual(try SnapshotStore(layout: container.layout).list().map(\.name), [second.name, third.name])
        XCTAssertFalse(FileManager.default.fileExists(atPath: container.layout.snapshot(first.name)))
        XCTAssertFalse(FileManager.default.fileExists(atPath: container.layout.snapshots + "/" + first.name + ".json"))

        let cutoff = second.redoSegment.segmentNumber()!
        let segmentsBefore = walBefore.compactMap { WALFileName.parse($0) }.filter { !$0.isHistory }
        let below = segmentsBefore.filter { !$0.isPartial && $0.segmentNumber()! < cutoff }.map(\.fileName)
        XCTAssertFalse(below.isEmpty, "there was WAL below the second snapshot's REDO segment \(second.redoWALFile): \(walBefore)")
        let walAfter = Set(listing(container.layout.walArchive))
        XCTAssertEqual(Set(below).intersection(walAfter), [], "segments below \(second.redoWALFile) were kept")
        // Every segment from the second snapshot's REDO segment on is still there.
        let remaining = walAfter.compactMap { WALFileName.parse($0) }.filter { !$0.isHistory }
        let numbers = Set(remaining.compactMap { $0.segmentNumber() })
        XCTAssertEqual(numbers.min(), cutoff, "the oldest remaining segment is \(second.redoWALFile): \(walAfter.sorted())")
        if let high = numbers.max() {
            for n in cutoff...high { XCTAssertTrue(numbers.contains(n), "segment \(n) is missing: \(walAfter.sorted())") }
        }
        for name in segmentsBefore where name.segmentNumber()! >= cutoff {
            let completed = WALFileName(timeline: name.timeline, content: name.content).fileName
            XCTAssertTrue(walAfter.contains(name.fileName) || walAfter.contains(completed), "\(name.fileName) was deleted")
        }
        XCTAssertTrue(walAfter.contains(second.redoWALFile) || walAfter.contains(second.redoWALFile + ".partial"))

        // A clone from the (now oldest) second snapshot, to just after it.
        let db = try upstream.connect()
        defer { db.close() }
        let target = try isoTime(db, "(SELECT pg_xact_commit_timestamp(xmin) FROM markers WHERE id = $1) + interval '10 ms'", [String(afterSecond)])
        let expected = try ids(db, where: "pg_xact_commit_timestamp(xmin) <= $1::timestamptz", [target])
        XCTAssertEqual(expected, [1, 2, 3])
        try await container.ok(["clone", "create", "after-expiry", "--time", target, "--start"])
        XCTAssertEqual(try cloneMetadata(container, "after-expiry").snapshot, second.name)
        try assertClone(container, "after-expiry", hasExactly: expected, "--time \(target) from \(second.name)")
    }

    // MARK: - 5. bad names change nothing

    func testBadNamesAreRefusedBeforeAnythingChanges() async throws {
        let upstream = try await makeUpstream()
        let container = try makeContainer()
        try await container.initContainer(upstream: upstream)
        try mark(upstream, "one")
        let (snapshot, _) = try await freshSnapshot(container, upstream)
        try await container.ok(["clone", "create", "base-user", "--snapshot", snapshot.name])

        let snapshotsBefore = listing(container.layout.snapshots)
        let snapshotNamesBefore = try SnapshotStore(layout: container.layout).list().map(\.name)
        XCTAssertTrue(snapshotNamesBefore.contains(snapshot.name))
        let clonesBefore = listing(container.layout.clones)
        let restorePoints = container.path + "/restore_points.json"
        let restorePointsBefore = FileManager.default.contents(atPath: restorePoints)

        let cases: [([String], String)] = [
            (["clone", "create", "../x"], "invalid clone name '../x'"),
            (["clone", "create", "a/b"], "invalid clone name 'a/b': it must not contain '/'"),
            (["snapshot", "delete", "../../x"], "invalid snapshot name '../../x'"),
            (["snapshot", "delete", "nonexistent"], "snapshot 'nonexistent' not found"),
            (["clone", "delete", "nonexistent"], "clone 'nonexistent' not found"),
            (["clone", "create", "x", "--snapshot", "nonexistent"], "snapshot 'nonexistent' not found"),
            (["restorepoint", "create", "a/b"], "invalid restore point name 'a/b': it must not contain '/'"),
            (["clone", "create", "y", "--time", "yesterday"], "cannot read 'yesterday' as a time"),
            (["snapshot", "delete", snapshot.name], "snapshot '\(snapshot.name)' is the base of clone(s) base-user"),
        ]
        for (arguments, text) in cases {
            let result = try await container.run(arguments)
            XCTAssertNotEqual(result.exitCode, 0, "\(arguments): \(result)")
            XCTAssertTrue(result.stderr.contains(text), "\(arguments): expected '\(text)' in: \(result.stderr)")
            XCTAssertEqual(listing(container.layout.snapshots), snapshotsBefore, "\(arguments) changed snapshots/")
            XCTAssertEqual(listing(container.layout.clones), clonesBefore, "\(arguments) changed clones/")
            XCTAssertEqual(FileManager.default.contents(atPath: restorePoints), restorePointsBefore, "\(arguments) changed restore_points.json")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: container.path + "/x"), "../x escaped clones/")
        XCTAssertEqual(try SnapshotStore(layout: container.layout).list().map(\.name), snapshotNamesBefore)
    }

    // MARK: - 6. restore --to a plain directory

    func testRestoreToPlainDirectoryMatchesClone() async throws {
        let upstream = try await makeUpstream()
        let container = try makeContainer()
        try await container.initContainer(upstream: upstream)
        try mark(upstream, "before-snapshot")
        let (snapshot, _) = try await freshSnapshot(container, upstream)
        let writer = startWriter(upstream, limit: 25)
        try await writer.waitFor(12)
        let newest = await writer.stop()
        XCTAssertNil(writer.error)
        let flushed = try XCTUnwrap(upstream.scalar("SELECT pg_current_wal_flush_lsn()"))
        _ = try await waitUntilArchived(upstream, container, through: flushed)

        let db = try upstream.connect()
        defer { db.close() }
        let k = 7
        let target = try isoTime(db, "(SELECT pg_xact_commit_timestamp(xmin) FROM markers WHERE id = $1) + ((SELECT pg_xact_commit_timestamp(xmin) FROM markers WHERE id = $2) - (SELECT pg_xact_commit_timestamp(xmin) FROM markers WHERE id = $1)) / 2", [String(k), String(k + 1)])
        let expected = try ids(db, where: "pg_xact_commit_timestamp(xmin) <= $1::timestamptz", [target])
        XCTAssertEqual(expected, Array(1...k))
        XCTAssertLessThan(k, newest)

        try await container.ok(["clone", "create", "reference", "--time", target, "--start"])
        try assertClone(container, "reference", hasExactly: expected, "--time \(target)")
        XCTAssertEqual(try cloneMetadata(container, "reference").snapshot, snapshot.name)

        // A clone started by hand (or whose `clone start` was interrupted) pauses at its
        // target and stays in recovery; `clone start` promotes it, and the result is exact.
        try await container.ok(["clone", "create", "by-hand", "--time", target])
        let handLog = container.layout.logs + "/clone_by-hand.log"
        let handStart = try await ToolCommand(executable: Self.pgCtl, arguments: ["-D", container.layout.clone("by-hand"), "-l", handLog, "-w", "-t", "120", "start"]).run()
        XCTAssertEqual(handStart.exitCode, 0, "pg_ctl start: \(handStart.standardError)")
        let paused = await eventually(timeout: 120, interval: 0.25) {
            guard let c = try? self.cloneConnection(container, "by-hand") else { return false }
            defer { c.close() }
            return (try? c.query("SELECT pg_is_wal_replay_paused()").rows.first?[0]) == "t"
        }
        XCTAssertTrue(paused, "the clone did not pause at its target\n\(cloneLogTail(container, "by-hand"))")
        let resumed = try await container.ok(["clone", "start", "by-hand"])
        XCTAssertTrue(resumed.stderr.contains("still in recovery"), resumed.stderr)
        try assertClone(container, "by-hand", hasExactly: expected, "--time \(target), started by hand, promoted by clone start")
        try await assertPromotedWithoutBlockingCheckpoint(container, "by-hand")
        try await container.ok(["clone", "stop", "by-hand"])

        let scratch = try TemporaryDirectory.make(prefix: "pgarchive-restore")
        let dataDirectory = scratch + "/data"
        let server = StartedServer(dataDirectory: dataDirectory, scratch: scratch)
        restoredServers.append(server)
        let fsType = try await ToolCommand(executable: "stat", arguments: ["-f", "-c", "%T", scratch]).runChecked()
        XCTAssertNotEqual(fsType.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines), "btrfs", "\(scratch) must not be on btrfs for this test")
        let port = try FreePort.find()

        let restored = try await container.run(["restore", "--to", dataDirectory, "--time", target,
                                                "--port", String(port), "--socket-directory", scratch])
        XCTAssertFalse(restored.stderr.contains("Unexpected argument 'restore'"), "`pgarchive restore` is not in this binary (\(container.binary.path))")
        XCTAssertEqual(restored.exitCode, 0, "\(restored)")
        guard restored.exitCode == 0 else { return }
        XCTAssertTrue(restored.stdout.contains("pg_ctl") && restored.stdout.contains(dataDirectory), "restore prints the pg_ctl command: \(restored.stdout)")

        let log = dataDirectory + ".log"
        let start = try await ToolCommand(executable: Self.pgCtl, arguments: ["-D", dataDirectory, "-l", log, "-w", "-t", "120", "start"]).run()
        let logText = { (try? String(contentsOfFile: log, encoding: .utf8)).map { String($0.suffix(3000)) } ?? "(no log)" }
        XCTAssertEqual(start.exitCode, 0, "pg_ctl start: \(start.standardError)\n\(logText())")
        let conninfo = "host=\(scratch) port=\(port) dbname=postgres user=\(try container.config().standbyUser)"
        let promoted = await eventually(timeout: 120, interval: 0.25) {
            guard let c = try? Connection(conninfo: conninfo, connectTimeout: 3) else { return false }
            defer { c.close() }
            return (try? c.query("SELECT pg_is_in_recovery()").rows.first?[0]) == "f"
        }
        XCTAssertTrue(promoted, "the restored server did not finish recovery:\n\(logText())")
        guard promoted else { return }
        let connection = try Connection(conninfo: conninfo, connectTimeout: 5)
        defer { connection.close() }
        let reference = try cloneConnection(container, "reference")
        let cloneIDs = try ids(reference)
        reference.close()
        XCTAssertEqual(try ids(connection), cloneIDs, "restore --to and clone create differ for --time \(target)\n\(logText())")
        XCTAssertEqual(try ids(connection), expected)
        XCTAssertEqual(try connection.query("SELECT timeline_id FROM pg_control_checkpoint()").rows.first?[0], "2")
        // It runs on its own: nothing of it lives in the container.
        XCTAssertFalse(listing(container.layout.walArchive).contains { $0.hasPrefix("00000002") })

        _ = try await ToolCommand(executable: Self.pgCtl, arguments: ["-D", dataDirectory, "-m", "fast", "-w", "-t", "60", "stop"]).run()
    }
}
