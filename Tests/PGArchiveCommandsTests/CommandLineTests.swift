import ArgumentParser
import PGArchiveCore
@testable import PGArchiveCommands
import XCTest

/// The command tree parsed in-process, without a container or a server: what each group's
/// argv parses to, the errors bad argv gets (with their text and exit code), and the command
/// table agreeing with the tree.
final class CommandLineTests: XCTestCase {
    func parse<C: ParsableCommand>(_ argv: [String], as type: C.Type, file: StaticString = #filePath, line: UInt = #line) throws -> C {
        let command = try PGArchiveCommand.parseAsRoot(argv)
        return try XCTUnwrap(command as? C, "\(argv) parsed as \(Swift.type(of: command))", file: file, line: line)
    }

    /// The message and exit code pgarchive prints for argv that does not parse.
    func parseError(_ argv: [String], file: StaticString = #filePath, line: UInt = #line) -> (message: String, code: Int32) {
        do {
            let command = try PGArchiveCommand.parseAsRoot(argv)
            XCTFail("\(argv) parsed as \(type(of: command))", file: file, line: line)
            return ("", 0)
        } catch {
            return (PGArchiveCommand.message(for: error), PGArchiveCommand.exitCode(for: error).rawValue)
        }
    }

    func testContainerAndWALCommandsParse() throws {
        let initialize = try parse(["container", "init", "-C", "/srv/c", "--upstream", "host=db1", "--standby-port", "5440",
                                    "--spread-checkpoint", "--btrfs-compression", "none", "-v"], as: ContainerInitCommand.self)
        XCTAssertEqual(initialize.options.container, "/srv/c")
        XCTAssertTrue(initialize.options.verbose)
        XCTAssertEqual(initialize.upstream, "host=db1")
        XCTAssertEqual(initialize.standbyPort, 5440)
        XCTAssertTrue(initialize.spreadCheckpoint)
        XCTAssertEqual(initialize.btrfsCompression, "none")
        XCTAssertEqual(try parse(["container", "init"], as: ContainerInitCommand.self).btrfsCompression, "zstd")
        XCTAssertTrue(try parse(["container", "purge", "--force"], as: ContainerPurgeCommand.self).force)
        XCTAssertEqual(try parse(["container", "upstream", "--", "-c", "SELECT 1"], as: ContainerUpstreamCommand.self).psql.arguments,
                       ["-c", "SELECT 1"])

        let fetch = try parse(["wal", "fetch", "--partial-ok", "-C", "/c", "000000010000000000000042", "pg_wal/RECOVERYXLOG"],
                              as: WALFetchCommand.self)
        XCTAssertTrue(fetch.partialOK)
        XCTAssertEqual([fetch.segment, fetch.destination], ["000000010000000000000042", "pg_wal/RECOVERYXLOG"])
        // The old group name stays an alias.
        XCTAssertTrue(try parse(["wal_archive", "list", "--include-retired"], as: WALListCommand.self).includeRetired)
        let log = try parse(["wal", "log", "-f", "-l", "7"], as: WALLogCommand.self)
        XCTAssertEqual([log.log.follow ? 1 : 0, log.log.lines], [1, 7])
        XCTAssertEqual(try parse(["standby", "log"], as: StandbyLogCommand.self).log.lines, 40)
    }

    func testPassthroughArgumentsLoseTheirTerminator() throws {
        XCTAssertEqual(try parse(["standby", "stop", "--", "-m", "immediate"], as: StandbyStopCommand.self).pgCtl.arguments, ["-m", "immediate"])
        XCTAssertEqual(try parse(["standby", "reload"], as: StandbyReloadCommand.self).pgCtl.arguments, [])
        XCTAssertEqual(try parse(["clone", "psql", "undo", "--", "-c", "SELECT count(*) FROM orders"], as: ClonePsqlCommand.self).psql.arguments,
                       ["-c", "SELECT count(*) FROM orders"])
        let extract = try parse(["dump", "extract", "shop", "--time", "2026-11-20 03:00", "--", "pg_restore", "-l"], as: DumpExtractCommand.self)
        XCTAssertEqual(extract.command.passthrough, ["pg_restore", "-l"])
        XCTAssertEqual(extract.time.time, "2026-11-20 03:00")
        let restore = try parse(["dump", "restore", "shop", "--into", "dbname=copy", "--table", "orders", "--table", "items",
                                 "--", "--no-owner"], as: DumpRestoreCommand.self)
        XCTAssertEqual(restore.tables, ["orders", "items"])
        XCTAssertEqual(restore.extra.passthrough, ["--no-owner"])
    }

    func testSnapshotCloneAndRestoreCommandsParse() throws {
        let snapshot = try parse(["snapshot", "create", "--no-wait", "--checkpoint-upstream", "--replay-timeout", "60"], as: SnapshotCreateCommand.self)
        XCTAssertTrue(snapshot.noWait && snapshot.checkpointUpstream)
        XCTAssertEqual(snapshot.replayTimeout, 60)
        XCTAssertEqual(try parse(["snapshot", "delete", "2026-11-20T08:15:00Z", "2026-11-20T09:15:00Z"], as: SnapshotDeleteCommand.self).names.count, 2)
        XCTAssertTrue(try parse(["snapshot", "thin", "--show"], as: SnapshotThinCommand.self).show)

        let clone = try parse(["clone", "create", "undo", "--time", "2026-11-21T14:30:00Z", "--allow", "anna", "--allow", "bob@10.1.2.0/24",
                               "--snapshot", "2026-11-21T08:15:00Z", "--start"], as: CloneCreateCommand.self)
        XCTAssertEqual(clone.name, "undo")
        XCTAssertEqual(clone.allow, ["anna", "bob@10.1.2.0/24"])
        XCTAssertEqual(clone.snapshot, "2026-11-21T08:15:00Z")
        XCTAssertTrue(clone.start)
        XCTAssertEqual(try clone.target.target(), .time(Date(timeIntervalSince1970: 1_795_271_400)))
        XCTAssertEqual(try parse(["clone", "create", "x"], as: CloneCreateCommand.self).target.target(), .latest)
        XCTAssertEqual(try parse(["clone", "create", "x", "--restore-point", "rp"], as: CloneCreateCommand.self).target.target(), .restorePoint("rp"))
        XCTAssertEqual(try parse(["clone", "create", "x", "--xid", "742"], as: CloneCreateCommand.self).target.target(), .xid(742))
        let stop = try parse(["clone", "stop", "--all"], as: CloneStopCommand.self)
        XCTAssertTrue(stop.all)
        XCTAssertNil(stop.name)
        XCTAssertEqual(try parse(["clone", "delete", "--force", "a", "b"], as: CloneDeleteCommand.self).names, ["a", "b"])
        let duplicate = try parse(["clone", "duplicate", "a", "b"], as: CloneDuplicateCommand.self)
        XCTAssertEqual([duplicate.source, duplicate.destination], ["a", "b"])

        let restore = try parse(["restore", "--to", "/srv/restore", "--immediate", "--port", "5432",
                                 "--tablespace-map", "fast=/srv/fast"], as: RestoreCommand.self)
        XCTAssertEqual(restore.directory, "/srv/restore")
        XCTAssertEqual(restore.port, 5432)
        XCTAssertEqual(restore.tablespaceMap, ["fast=/srv/fast"])
        XCTAssertEqual(try restore.target.target(), .immediate)
        XCTAssertEqual(try parse(["restorepoint", "create", "before_release_42"], as: RestorePointCreateCommand.self).name, "before_release_42")
    }

    func testReportingAndCronCommandsParse() throws {
        let check = try parse(["check", "--all", "--root", "/srv/pgarchive", "--max-lag", "2 hours", "--min-free-percent", "20"], as: CheckCommand.self)
        XCTAssertTrue(check.all)
        XCTAssertEqual(check.root, "/srv/pgarchive")
        let limits = try check.limits()
        XCTAssertEqual(limits.minFreePercent, 20)
        XCTAssertEqual(limits.maxReplayLag, TimeSpan(parsing: "2 hours"))
        let verify = try parse(["verify", "--restore", "--all", "--json", "--no-wait"], as: VerifyCommand.self)
        XCTAssertTrue(verify.restore && verify.all && verify.json && verify.noWait)
        XCTAssertEqual(try parse(["metrics", "--root", "/srv", "--output", "x.prom"], as: MetricsCommand.self).output, "x.prom")
        XCTAssertTrue(try parse(["status", "--all", "--json"], as: StatusCommand.self).json)
        let watchdog = try parse(["cron", "watchdog", "--no-wait", "-C", "/srv/c"], as: CronWatchdogCommand.self)
        XCTAssertTrue(watchdog.options.noWait)
        XCTAssertEqual(watchdog.options.container.container, "/srv/c")
        XCTAssertEqual(try parse(["cron", "dump", "--jobs", "4"], as: CronDumpCommand.self).jobs, 4)
        XCTAssertTrue(try parse(["cron", "verify", "--restore"], as: CronVerifyCommand.self).restore)
        let create = try parse(["dump", "create", "--from-upstream", "--no-wait", "shop", "billing"], as: DumpCreateCommand.self)
        XCTAssertEqual(create.databases, ["shop", "billing"])
        XCTAssertTrue(create.fromUpstream && create.noWait)
    }

    func testBadArgvIsRefusedWithItsMessage() {
        var error = parseError(["snapshot", "create", "--replay-timeout", "0"])
        XCTAssertEqual(error.message, "--replay-timeout must be a positive number of seconds")
        XCTAssertEqual(error.code, ExitCode.validationFailure.rawValue)
        error = parseError(["clone", "start"])
        XCTAssertEqual(error.message, "Missing expected argument '<name>'")
        XCTAssertEqual(error.code, ExitCode.validationFailure.rawValue)
        error = parseError(["snapshot", "frobnicate"])
        XCTAssertEqual(error.message, "Unexpected argument 'frobnicate'")
        error = parseError(["clone", "list", "--frobnicate"])
        XCTAssertEqual(error.message, "Unknown option '--frobnicate'")
        error = parseError(["wal", "fetch", "only-one"])
        XCTAssertEqual(error.message, "Missing expected argument '<destination>'")
        error = parseError(["check", "--min-free-percent", "lots"])
        XCTAssertEqual(error.message, "The value 'lots' is invalid for '--min-free-percent <min-free-percent>'")
    }

    /// The checks a command makes of its options before it opens anything: the same text
    /// `pgarchive: error: …` prints (exit 1).
    func testConflictingAndUnreadableOptionsAreRefused() async throws {
        func message(_ body: () throws -> Void) -> String? {
            do { try body(); return nil } catch let error as PGArchiveError { return error.message } catch { return "\(error)" }
        }
        let twoTargets = try parse(["clone", "create", "x", "--latest", "--immediate"], as: CloneCreateCommand.self)
        XCTAssertEqual(message { _ = try twoTargets.target.target() }, "give at most one of --time, --restore-point, --lsn, --xid, --immediate, --latest")
        let badLSN = try parse(["restore", "--to", "/d", "--lsn", "zz"], as: RestoreCommand.self)
        XCTAssertEqual(message { _ = try badLSN.target.target() }, "cannot read 'zz' as an LSN; write it like 0/3000028")
        let badTime = try parse(["clone", "create", "x", "--time", "yesterday-ish"], as: CloneCreateCommand.self)
        XCTAssertEqual(message { _ = try badTime.target.target() }?.hasPrefix("cannot read 'yesterday-ish' as a time; use ISO-8601"), true)
        let badAllow = try parse(["clone", "create", "x", "--allow", "anna@nowhere"], as: CloneCreateCommand.self)
        XCTAssertEqual(message { _ = try badAllow.allow.map { try CloneAccessRule(parsing: $0) } },
                       "--allow 'anna@nowhere': 'nowhere' is not an IP address or network such as 10.1.2.0/24, 192.0.2.7 or 2001:db8::/32")
        let badMap = try parse(["restore", "--to", "/d", "--tablespace-map", "fast"], as: RestoreCommand.self)
        XCTAssertEqual(message { _ = try TablespaceRestoreMap(arguments: badMap.tablespaceMap) },
                       "invalid --tablespace-map 'fast': use NAME=DIR, e.g. --tablespace-map fast=/srv/fast/restore")
        let badSpan = try parse(["check", "--snapshot-max-age", "soon"], as: CheckCommand.self)
        XCTAssertEqual(message { _ = try badSpan.limits() }, "--snapshot-max-age: 'soon' is not a time span such as '2 hours'")
        // Refused in run() before the container is opened.
        let twoTargetsRun = try parse(["clone", "create", "x", "--lsn", "0/1", "--xid", "5", "-C", "/nonexistent/c"], as: CloneCreateCommand.self)
        do {
            try await twoTargetsRun.run()
            XCTFail("clone create with two targets ran")
        } catch let error as PGArchiveError {
            XCTAssertEqual(error.message, "give at most one of --time, --restore-point, --lsn, --xid, --immediate, --latest")
            XCTAssertEqual(error.exitCode, 1)
        }
        let allWithoutRestore = try parse(["verify", "--all", "-C", "/nonexistent/c"], as: VerifyCommand.self)
        do {
            try await allWithoutRestore.run()
            XCTFail("verify --all without --restore ran")
        } catch {
            XCTAssertEqual(PGArchiveCommand.message(for: error), "--all needs --restore")
        }
    }

    /// The command table names exactly the commands of the tree, each once.
    func testCommandTableMatchesTheTree() {
        let leaves = PGArchiveCommand.leafCommandPaths.map { $0.joined(separator: " ") }
        XCTAssertEqual(leaves.count, Set(leaves).count)
        XCTAssertEqual(Set(leaves), Set(ContainerOperation.allCases.map(\.rawValue)))
        XCTAssertEqual(leaves.count, ContainerOperation.allCases.count)
        let all = PGArchiveCommand.commandPaths
        XCTAssertEqual(all.first, [])
        XCTAssertTrue(all.contains(["clone"]) && all.contains(["clone", "create"]) && all.contains(["bash-completion"]))
        XCTAssertEqual(all.count, leaves.count + 1 + 8, "pgarchive, its 8 groups and the leaves")
    }

    /// What each command locks, as the flows rely on it (CloneAccessIntegrationTests,
    /// CronIntegrationTests exercise a held lock through the binary).
    func testCommandLocks() {
        XCTAssertEqual(ContainerOperation.containerStart.lock, .container)
        XCTAssertEqual(ContainerOperation.standbyStop.lock, .container)
        XCTAssertEqual(ContainerOperation.standbyRestart.lock, .container)
        XCTAssertNil(ContainerOperation.standbyStatus.lock)
        XCTAssertNil(ContainerOperation.standbyReload.lock)
        XCTAssertEqual(ContainerOperation.cronWatchdog.lock, .container)
        for operation in [ContainerOperation.cloneCreate, .cloneStart, .cloneStop, .cloneRestart, .cloneDuplicate, .cloneDelete,
                          .snapshotCreate, .snapshotDelete, .snapshotExpire, .snapshotThin, .restore, .cronExpireAndCreateSnapshot] {
            XCTAssertEqual(operation.lock, .snapshots, operation.rawValue)
        }
        XCTAssertEqual(ContainerOperation.dumpCreate.lock, .dumps)
        XCTAssertEqual(ContainerOperation.cronDump.lock, .dumps)
        XCTAssertEqual(ContainerOperation.verify.lock, .verify)
        XCTAssertEqual(ContainerOperation.restorePointCreate.lock, .restorePoints)
        // Safe beside everything, or nothing to lock yet.
        for operation in [ContainerOperation.walFetch, .walCompress, .cronCompressWAL, .containerInit, .containerStatus, .snapshotList, .cloneList, .metrics] {
            XCTAssertNil(operation.lock, operation.rawValue)
        }
        // The jobs status and the dashboard report are the cron commands of the table.
        XCTAssertEqual(Set(Container.cronJobs), Set(ContainerOperation.allCases.compactMap(\.cronJob)))
        XCTAssertEqual(ContainerOperation.cronCompressWAL.cronJob, "compress-wal")
        XCTAssertNil(ContainerOperation.clonePsql.cronJob)
        XCTAssertEqual(ContainerOperation.cloneStart.lockCommand(detail: "undo"), "clone start undo")
        XCTAssertEqual(ContainerOperation.verify.lockCommand(), "verify")
        XCTAssertEqual(ContainerOperation.cronWatchdog.lockCommand(), "cron watchdog")
    }
}
