import Foundation
import PGArchiveCore
import PGArchiveTestSupport
import Postgres
import XCTest

/// The cron jobs against a real upstream and a real container, through the built binary:
/// the watchdog brings back killed daemons, concurrent and blocked jobs respect the
/// snapshots lock (exit 75 naming the holder, or wait), and `container initcron` writes
/// one idempotent crontab block whose commands work the way cron runs them.
final class CronIntegrationTests: XCTestCase {
    var upstreams: [UpstreamCluster] = []
    var containers: [ContainerFixture] = []
    /// The user's crontab before the initcron test touched it: `.some(nil)` when there was none.
    var savedCrontab: String??

    override func tearDown() async throws {
        // Restore the crontab first, so no installed entry outlives the test's containers.
        if let saved = savedCrontab {
            savedCrontab = nil
            if let saved {
                let restored = try await ToolCommand(executable: "crontab", arguments: ["-"]).run(input: saved)
                XCTAssertTrue(restored.succeeded, "could not restore the crontab: \(restored.standardError)")
            } else {
                _ = try await ToolCommand(executable: "crontab", arguments: ["-r"]).run()
            }
            let now = try await ToolCommand(executable: "crontab", arguments: ["-l"]).run()
            if let saved {
                XCTAssertEqual(now.standardOutput, saved, "the crontab was not restored exactly")
            } else {
                XCTAssertFalse(now.succeeded, "the test left a crontab behind where there was none: \(now.standardOutput)")
            }
        }
        for container in containers.reversed() { await container.destroy() }
        for upstream in upstreams.reversed() { await upstream.destroy() }
        containers = []
        upstreams = []
    }

    func makeUpstream(_ name: String = "upstream") async throws -> UpstreamCluster {
        let upstream = try await UpstreamCluster(name: name)
        upstreams.append(upstream)
        try upstream.sql("CREATE TABLE markers (id serial PRIMARY KEY, note text NOT NULL, at timestamptz DEFAULT now())")
        return upstream
    }

    func makeContainer(_ name: String = "c") throws -> ContainerFixture {
        let container = try ContainerFixture(name: name)
        containers.append(container)
        return container
    }

    /// Inserts a marker upstream and closes the segment so the standby can replay it.
    func mark(_ upstream: UpstreamCluster, _ note: String) throws {
        try upstream.sql("INSERT INTO markers (note) VALUES ('\(note)')")
        _ = try upstream.scalar("SELECT pg_switch_wal()")
    }

    func assertReplays(_ container: ContainerFixture, _ note: String, timeout: TimeInterval = 90,
                       file: StaticString = #filePath, line: UInt = #line) async {
        let seen = await eventually(timeout: timeout) {
            container.standbyScalar("SELECT count(*) FROM markers WHERE note = '\(note)'") == "1"
        }
        XCTAssertTrue(seen, "the standby of \(container.path) did not replay marker '\(note)' within \(Int(timeout)) s", file: file, line: line)
    }

    func snapshotNames(_ container: ContainerFixture, file: StaticString = #filePath, line: UInt = #line) async throws -> [String] {
        let listed = try await container.ok(["snapshot", "list", "--json"], file: file, line: line)
        return try SnapshotStore.decoder.decode([SnapshotMetadata].self, from: Data(listed.stdout.utf8)).map(\.name)
    }

    func lastRun(_ container: ContainerFixture, _ job: String) throws -> CronRun {
        let data = try Data(contentsOf: URL(fileURLWithPath: container.layout.run + "/cron_\(job).json"))
        return try SnapshotStore.decoder.decode(CronRun.self, from: data)
    }

    func cronLog(_ container: ContainerFixture, _ job: String) -> String {
        (try? String(contentsOfFile: container.layout.logs + "/cron_\(job).log", encoding: .utf8)) ?? ""
    }

    // MARK: - snapshot create --checkpoint-upstream

    func testSnapshotAfterUpstreamCheckpointHoldsEverythingCommittedBefore() async throws {
        let upstream = try await makeUpstream()
        let container = try makeContainer()
        try await container.initContainer(upstream: upstream)
        // Committed, but no checkpoint or segment switch after it: a plain snapshot create
        // would not hold it yet.
        try upstream.sql("INSERT INTO markers (note) VALUES ('before-snapshot')")
        let result = try await container.ok(["snapshot", "create", "--checkpoint-upstream", "--replay-timeout", "120"])
        let name = result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let names = try await snapshotNames(container)
        XCTAssertEqual(names.last, name)
        // A later row, so recovery from the snapshot has a record past its consistent point;
        // --immediate stops there, before it.
        try mark(upstream, "after-snapshot")
        try await container.ok(["clone", "create", "at-snapshot", "--immediate", "--snapshot", name])
        try await container.ok(["clone", "start", "at-snapshot"])
        let port = try CloneStore(layout: container.layout).get("at-snapshot").port
        let connection = try Connection(conninfo: "host=\(container.layout.run) port=\(port) dbname=postgres user=\(try container.config().standbyUser)", connectTimeout: 10)
        defer { connection.close() }
        let notes = try connection.query("SELECT note FROM markers ORDER BY id").rows.compactMap { $0[0] }
        XCTAssertEqual(notes, ["before-snapshot"], "the snapshot must hold the row committed before it, and not the one after")
        try await container.ok(["clone", "delete", "--force", "at-snapshot"])

        // Bad input changes nothing; an unreachable upstream is a clear error, no snapshot.
        let zero = try await container.run(["snapshot", "create", "--checkpoint-upstream", "--replay-timeout", "0"])
        XCTAssertEqual(zero.exitCode, 64, "\(zero)")
        XCTAssertTrue(zero.stderr.contains("--replay-timeout must be a positive number of seconds"), zero.stderr)
        await upstream.stop()
        let down = try await container.run(["snapshot", "create", "--checkpoint-upstream"])
        XCTAssertEqual(down.exitCode, 1, "\(down)")
        XCTAssertTrue(down.stderr.contains("--checkpoint-upstream needs the upstream"), down.stderr)
        let after = try await snapshotNames(container)
        XCTAssertEqual(after, names)
    }

    // MARK: - watchdog

    func testWatchdogRestartsKilledReceiverAndStandby() async throws {
        let upstream = try await makeUpstream()
        let container = try makeContainer()
        try await container.initContainer(upstream: upstream)
        try mark(upstream, "before-kill")
        await assertReplays(container, "before-kill")

        let receiver = try XCTUnwrap(container.receiverPID())
        let postmaster = try XCTUnwrap(container.standbyPID())
        let children = childPIDs(of: postmaster)
        XCTAssertFalse(children.isEmpty, "the standby's postmaster has no children?")
        XCTAssertEqual(kill(receiver, SIGKILL), 0)
        XCTAssertEqual(kill(postmaster, SIGKILL), 0)
        // Gone means reaped, not just dead: the killed daemons were orphans of init, and a
        // zombie postmaster still answers kill(pid, 0), which is what PostgreSQL's
        // postmaster.pid check uses ("lock file already exists"). A real init reaps at once;
        // this machine's init takes a second or two.
        let daemonsGone = await eventually(timeout: 30) { isGone(receiver) && isGone(postmaster) }
        XCTAssertTrue(daemonsGone, "pg_receivewal \(receiver) or postmaster \(postmaster) survived kill -9")
        // The orphaned backends notice their postmaster is gone and exit by themselves.
        let orphansGone = await eventually(timeout: 60) { children.allSatisfy(isGone) }
        XCTAssertTrue(orphansGone, "children of the killed standby still there: \(children.filter { !isGone($0) })")

        let down = try await container.run(["container", "status"])
        XCTAssertEqual(down.exitCode, 2, "status must say down while both daemons are dead: \(down)")

        let watchdog = try await container.run(["cron", "watchdog", "--no-wait"])
        XCTAssertEqual(watchdog.exitCode, 0, "\(watchdog)")
        let newReceiver = try XCTUnwrap(container.receiverPID())
        let newPostmaster = try XCTUnwrap(container.standbyPID())
        XCTAssertNotEqual(newReceiver, receiver)
        XCTAssertNotEqual(newPostmaster, postmaster)
        XCTAssertTrue(Processes.isAlive(newReceiver), "pg_receivewal was not restarted")
        XCTAssertTrue(Processes.isAlive(newPostmaster), "the standby was not restarted")
        XCTAssertEqual(Processes.commandLine(of: newReceiver)?.first.map { ($0 as NSString).lastPathComponent }, "pg_receivewal")

        try mark(upstream, "after-watchdog")
        await assertReplays(container, "after-watchdog")
        XCTAssertEqual(container.standbyScalar("SELECT count(*) FROM markers"), "2")

        let log = cronLog(container, "watchdog")
        XCTAssertTrue(log.contains("restarted pg_receivewal"), log)
        XCTAssertTrue(log.contains("restarted the standby"), log)
        let run = try lastRun(container, "watchdog")
        XCTAssertEqual(run.job, "watchdog")
        XCTAssertEqual(run.result, .ok, run.message)
        XCTAssertTrue(run.message.contains("restarted pg_receivewal") && run.message.contains("restarted the standby"), run.message)

        let status = try await container.run(["container", "status"])
        XCTAssertEqual(status.exitCode, 0, "\(status)")
        XCTAssertTrue(status.stdout.contains("health:           ok"), status.stdout)

        // A second run finds everything running and restarts nothing.
        let again = try await container.run(["cron", "watchdog", "--no-wait"])
        XCTAssertEqual(again.exitCode, 0, "\(again)")
        XCTAssertEqual(container.receiverPID(), newReceiver)
        XCTAssertEqual(container.standbyPID(), newPostmaster)
        XCTAssertEqual(try lastRun(container, "watchdog").message, "all running")
    }

    // MARK: - the snapshots lock

    func testConcurrentExpireAndCreateSnapshotMakeExactlyOneSnapshot() async throws {
        let upstream = try await makeUpstream()
        let container = try makeContainer()
        try await container.initContainer(upstream: upstream)
        let before = try await snapshotNames(container)
        try await container.newCheckpointReplayed(upstream)
        let logBefore = cronLog(container, "expire-and-create-snapshot")

        async let first = container.run(["cron", "expire-and-create-snapshot", "--no-wait"])
        async let second = container.run(["cron", "expire-and-create-snapshot", "--no-wait"])
        let results = try await [first, second]

        for result in results {
            XCTAssertTrue([0, 75].contains(result.exitCode), "a cron job must exit 0 or 75: \(result)")
        }
        let codes = results.map(\.exitCode).sorted()
        let newLog = String(cronLog(container, "expire-and-create-snapshot").dropFirst(logBefore.count))
        XCTAssertTrue(codes == [0, 75] || codes == [0, 0], "expected one success and one busy (or two successes): \(results)")
        if codes == [0, 75] {
            let busy = results.first { $0.exitCode == 75 }!
            XCTAssertTrue(busy.stderr.contains("another pgarchive (pid "), busy.stderr)
            XCTAssertTrue(busy.stderr.contains("running `pgarchive cron expire-and-create-snapshot`"), busy.stderr)
            // The named pid is the one that did the work (its log lines carry its pid).
            let winner = logPIDs(newLog, containing: "cron expire-and-create-snapshot finished")
            XCTAssertEqual(winner.count, 1, newLog)
            if let pid = winner.first {
                XCTAssertTrue(busy.stderr.contains("another pgarchive (pid \(pid),"), "the busy job names a different holder than the winner \(pid): \(busy.stderr)")
            }
            XCTAssertEqual(logPIDs(newLog, containing: "cron expire-and-create-snapshot skipped").count, 1, newLog)
        } else {
            // The first finished before the second took the lock: the second found the snapshot.
            XCTAssertEqual(newLog.components(separatedBy: "already exists").count - 1, 1, newLog)
        }
        XCTAssertEqual(newLog.components(separatedBy: "created snapshot").count - 1, 1, newLog)

        let after = try await snapshotNames(container)
        XCTAssertEqual(after.count, Set(after).count, "duplicate snapshots: \(after)")
        XCTAssertEqual(after.count, before.count + 1, "exactly one new snapshot: before \(before), after \(after)")
        XCTAssertTrue(Set(before).isSubset(of: after), "a snapshot disappeared: before \(before), after \(after)")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: container.layout.snapshots).filter { $0.hasPrefix(".creating-") }
        XCTAssertEqual(leftovers, [])
        let listed = try await container.ok(["snapshot", "list"])
        XCTAssertFalse(listed.stderr.contains("incomplete"), listed.stderr)
        let log = cronLog(container, "expire-and-create-snapshot")
        XCTAssertFalse(log.contains("error"), log)
        for result in results where result.exitCode == 0 {
            XCTAssertFalse(result.stderr.contains("error"), result.stderr)
        }
        XCTAssertEqual(try lastRun(container, "expire-and-create-snapshot").job, "expire-and-create-snapshot")
    }

    func testHeldSnapshotsLockMakesCronExit75AndSnapshotCreateWait() async throws {
        let upstream = try await makeUpstream()
        let container = try makeContainer()
        try await container.initContainer(upstream: upstream)
        let before = try await snapshotNames(container)

        // flock belongs to the open file description: this process holds it against any child.
        var holder: ContainerLock? = try ContainerLock.acquire(.snapshots, in: container.layout.run, command: "test holder", wait: false)
        let me = getpid()
        let started = Date()
        let busy = try await container.run(["cron", "expire-and-create-snapshot", "--no-wait"])
        let elapsed = Date().timeIntervalSince(started)
        XCTAssertEqual(busy.exitCode, 75, "\(busy)")
        XCTAssertLessThan(elapsed, 10, "--no-wait must not wait for the lock")
        XCTAssertTrue(busy.stderr.contains("another pgarchive (pid \(me), running `pgarchive test holder`)"), busy.stderr)
        XCTAssertTrue(busy.stderr.contains("snapshots lock"), busy.stderr)
        let run = try lastRun(container, "expire-and-create-snapshot")
        XCTAssertEqual(run.result, .busy, run.message)
        XCTAssertTrue(run.message.contains("pid \(me)"), run.message)
        XCTAssertTrue(cronLog(container, "expire-and-create-snapshot").contains("skipped"))
        XCTAssertEqual(try String(contentsOfFile: container.layout.run + "/snapshots.lock", encoding: .utf8), "\(me) test holder\n",
                       "the busy job must not touch the holder's lock file")
        let unchanged = try await snapshotNames(container)
        XCTAssertEqual(unchanged, before)

        // Without --no-wait, snapshot create waits for the holder.
        let finished = Flag()
        let waiter = Task { () throws -> PGArchiveBinary.Result in
            let result = try await container.run(["snapshot", "create"])
            finished.set()
            return result
        }
        try await Task.sleep(for: .milliseconds(2500))
        XCTAssertFalse(finished.isSet, "snapshot create finished while the lock was held")
        XCTAssertEqual(holder?.path, container.layout.run + "/snapshots.lock") // keeps the lock alive until here
        holder = nil // releases the flock

        let done = await eventually(timeout: 90) { finished.isSet }
        XCTAssertTrue(done, "snapshot create did not finish after the lock was released")
        let created = try await waiter.value
        XCTAssertEqual(created.exitCode, 0, "\(created)")
        XCTAssertTrue(created.stderr.contains("waiting for another pgarchive (pid \(me), running `pgarchive test holder`)"), created.stderr)
        let after = try await snapshotNames(container)
        XCTAssertTrue(after.contains(created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)), "\(created.stdout) not in \(after)")
    }

    // MARK: - initcron

    func testInitCronInstallsOneBlockAndItsCommandsRunAsCronRunsThem() async throws {
        guard let crontab = executableInPath("crontab") else {
            try IntegrationEnvironment.unavailable("crontab is not installed (apt-get install cron)")
        }
        let upstream = try await makeUpstream()
        let container = try makeContainer()
        try await container.initContainer(upstream: upstream)
        let root = container.layout.root

        // Save the user's crontab (tearDown restores it exactly), then add lines of our own
        // that initcron must keep.
        let current = try await ToolCommand(executable: crontab, arguments: ["-l"]).run()
        if current.succeeded {
            savedCrontab = .some(current.standardOutput)
        } else {
            XCTAssertTrue(current.standardError.contains("no crontab"), "crontab -l failed: \(current.standardError)")
            savedCrontab = .some(nil)
        }
        let userLines = "# pgarchive cron test: a line of the user's\n0 0 1 1 * /bin/true # pgarchive-test-sentinel\n"
        let base = (current.succeeded ? current.standardOutput : "") + userLines
        try await ToolCommand(executable: crontab, arguments: ["-"]).runChecked(input: base)

        try await container.ok(["container", "initcron"])
        try await container.ok(["container", "initcron"])
        let commented = try await ToolCommand(executable: crontab, arguments: ["-l"]).runChecked().standardOutput
        XCTAssertTrue(commented.hasPrefix(base), "initcron changed the lines before its block:\n\(commented)")
        let commentedBlock = try block(of: root, in: commented)
        XCTAssertEqual(commentedBlock.entries.count, Container.cronJobs.count, commented)
        for entry in commentedBlock.entries { XCTAssertTrue(entry.hasPrefix("#"), "not commented out: \(entry)") }

        try await container.ok(["container", "initcron", "--enable"])
        let enabled = try await ToolCommand(executable: crontab, arguments: ["-l"]).runChecked().standardOutput
        XCTAssertTrue(enabled.hasPrefix(base), "initcron --enable changed the lines before its block:\n\(enabled)")
        let enabledBlock = try block(of: root, in: enabled)
        XCTAssertEqual(enabledBlock.entries, commentedBlock.entries.map { String($0.dropFirst()) }, "--enable only uncomments the entries")
        for entry in enabledBlock.entries { XCTAssertFalse(entry.hasPrefix("#"), "still commented out: \(entry)") }
        try await container.ok(["container", "initcron", "--enable"])
        let again = try await ToolCommand(executable: crontab, arguments: ["-l"]).runChecked().standardOutput
        XCTAssertEqual(again, enabled, "a second initcron --enable changed the crontab")

        // The installed entries name this binary and this container.
        let binary = try XCTUnwrap(realpath(container.binary.path, nil).map { String(cString: $0) })
        var commands: [String: String] = [:]
        for entry in enabledBlock.entries {
            // Five schedule fields, then the command, exactly as cron splits the line.
            let fields = entry.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
            XCTAssertEqual(fields.count, 6, entry)
            let command = String(fields.last ?? "")
            XCTAssertTrue(command.hasPrefix(ServerConfiguration.shellQuote(binary) + " cron "), "\(command) does not run \(binary)")
            XCTAssertTrue(command.hasSuffix(" --no-wait -C " + ServerConfiguration.shellQuote(root)), command)
            let job = try XCTUnwrap(Container.cronJobs.first { command.contains(" cron \($0) ") }, command)
            commands[job] = command
        }
        XCTAssertEqual(Set(commands.keys), Set(Container.cronJobs))

        // Every installed job runs, watchdog first and dump (which clones a snapshot) last.
        let jobsToRun = ["watchdog", "expire-and-create-snapshot", "compress-wal", "maintenance", "dump", "verify"]
        XCTAssertEqual(Set(jobsToRun), Set(Container.cronJobs), "a cron job is installed but not run by this test")

        // Run each command the way cron does: /bin/sh -c with cron's minimal environment.
        let home = String(cString: getpwuid(geteuid()).pointee.pw_dir)
        let user = String(cString: getpwuid(geteuid()).pointee.pw_name)
        try await container.newCheckpointReplayed(upstream)
        for job in jobsToRun {
            let command = try XCTUnwrap(commands[job])
            let result = try await ToolCommand(executable: "/usr/bin/env", arguments: [
                "-i", "PATH=/usr/bin:/bin", "HOME=\(home)", "SHELL=/bin/sh", "LOGNAME=\(user)", "USER=\(user)",
                "/bin/sh", "-c", command,
            ]).run()
            XCTAssertEqual(result.exitCode, 0, "cron job \(job) (\(command)) failed:\n--- stdout\n\(result.standardOutput)--- stderr\n\(result.standardError)")
            let run = try lastRun(container, job)
            XCTAssertEqual(run.result, .ok, "\(job): \(run.message)")
        }
        XCTAssertTrue(try lastRun(container, "expire-and-create-snapshot").message.contains("newest snapshot"))
        let status = try await container.run(["container", "status"])
        XCTAssertEqual(status.exitCode, 0, "\(status)")
        for job in jobsToRun { XCTAssertTrue(status.stdout.contains(job), "status does not list cron job \(job):\n\(status.stdout)") }
    }

    /// The lines of `container`'s block in `crontab`, checking there is exactly one.
    func block(of container: String, in crontab: String, file: StaticString = #filePath, line: UInt = #line) throws -> (lines: [String], entries: [String]) {
        let lines = crontab.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        XCTAssertEqual(lines.filter { $0 == CronBlock.begin(container) }.count, 1, "BEGIN lines for \(container):\n\(crontab)", file: file, line: line)
        XCTAssertEqual(lines.filter { $0 == CronBlock.end(container) }.count, 1, "END lines for \(container):\n\(crontab)", file: file, line: line)
        let start = try XCTUnwrap(lines.firstIndex(of: CronBlock.begin(container)), file: file, line: line)
        let stop = try XCTUnwrap(lines.firstIndex(of: CronBlock.end(container)), file: file, line: line)
        XCTAssertLessThan(start, stop, file: file, line: line)
        let inner = Array(lines[(start + 1)..<stop])
        return (inner, inner.filter { $0.contains(" cron ") && $0.contains(" --no-wait ") })
    }
}

/// A flag set from another task.
private final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.withLock { value } }
    func set() { lock.withLock { value = true } }
}

/// The pids in `pgarchive[PID]:` of the log lines containing `text`.
private func logPIDs(_ log: String, containing text: String) -> [pid_t] {
    log.split(separator: "\n").filter { $0.contains(text) }.compactMap { line in
        guard let open = line.range(of: "pgarchive["), let close = line[open.upperBound...].firstIndex(of: "]") else { return nil }
        return pid_t(line[open.upperBound..<close])
    }
}

private func executableInPath(_ name: String) -> String? {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    for directory in path.split(separator: ":") where FileManager.default.isExecutableFile(atPath: "\(directory)/\(name)") {
        return "\(directory)/\(name)"
    }
    return nil
}
