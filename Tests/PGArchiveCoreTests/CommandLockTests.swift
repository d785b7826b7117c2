import Foundation
@testable import PGArchiveCore
import Postgres
import XCTest

/// ContainerOperation.run: the command table's lock is held exactly while the work runs,
/// named after the command; a held lock without waiting fails with 75 before the work. And
/// the argv of the tools the command line hands the terminal to.
final class CommandLockTests: XCTestCase {
    var root = ""

    override func setUpWithError() throws {
        root = NSTemporaryDirectory() + "pgarchive-locks-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: root + "/run", withIntermediateDirectories: true)
        chmod(root, 0o700)
        XCTAssertTrue(FileManager.default.createFile(atPath: root + "/pgarchive.conf", contents: Data(), attributes: [.posixPermissions: 0o600]))
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: root)
    }

    func testDeclaredLockIsHeldWhileTheWorkRuns() async throws {
        var order: [String] = []
        let holder = try await ContainerOperation.cloneStart.run(container: root, detail: "undo", wait: false, beforeLock: { _ in
            order.append("before")
        }) { container in
            order.append("work")
            XCTAssertThrowsError(try ContainerLock.acquire(.snapshots, in: container.layout.run, command: "other", wait: false)) { error in
                XCTAssertEqual((error as? PGArchiveError)?.exitCode, PGArchiveError.temporaryFailureExitCode)
            }
            // Another kind of lock is free meanwhile.
            _ = try ContainerLock.acquire(.container, in: container.layout.run, command: "other", wait: false)
            return try String(contentsOfFile: container.layout.run + "/snapshots.lock", encoding: .utf8)
        }
        XCTAssertEqual(order, ["before", "work"])
        XCTAssertEqual(holder, "\(getpid()) clone start undo\n")
        // Released afterwards.
        _ = try ContainerLock.acquire(.snapshots, in: root + "/run", command: "after", wait: false)
    }

    func testHeldLockWithoutWaitFailsBeforeTheWork() async throws {
        let held = try ContainerLock.acquire(.dumps, in: root + "/run", command: "dump create", wait: false)
        var ran = false
        do {
            try await ContainerOperation.dumpExpire.run(container: root, wait: false) { _ in ran = true }
            XCTFail("dump expire ran under a held dumps lock")
        } catch let error as PGArchiveError {
            XCTAssertEqual(error.exitCode, 75)
            XCTAssertTrue(error.message.contains("running `pgarchive dump create`"), error.message)
            XCTAssertTrue(error.message.hasSuffix("(dumps lock); try again later"), error.message)
        }
        XCTAssertFalse(ran)
        // A command that takes no lock runs beside it.
        let listed = try await ContainerOperation.dumpList.run(container: root, wait: false) { _ in true }
        XCTAssertTrue(listed)
        _ = held
    }

    func testNoContainerNoWork() async throws {
        do {
            try await ContainerOperation.snapshotList.run(container: root + "/missing") { _ in XCTFail("ran without a container") }
        } catch let error as PGArchiveError {
            XCTAssertTrue(error.message.hasPrefix("container \(root)/missing does not exist"), error.message)
        }
    }

    func testToolArgv() async throws {
        XCTAssertEqual(LogView.tail("/c/logs/standby.log", lines: 40, follow: false).arguments, ["-n", "40", "--", "/c/logs/standby.log"])
        XCTAssertEqual(LogView.tail("/c/logs/x.log", lines: 7, follow: true).arguments, ["-n", "7", "-F", "--", "/c/logs/x.log"])
        XCTAssertEqual(LogView.follow(["/a", "/b"]).arguments, ["-n", "5", "-F", "--", "/a", "/b"])
        let plain = ToolCommand(executable: "pg_restore", arguments: ["-f", "-"])
        var tool = try await Container.dumpExtractTool(directory: "/d/run", globals: false, command: ["pg_restore", "-l"]) { plain }
        XCTAssertEqual([tool.executable] + tool.arguments, ["pg_restore", "-l", "/d/run"])
        tool = try await Container.dumpExtractTool(directory: "/d/run", globals: true, command: []) { plain }
        XCTAssertEqual([tool.executable] + tool.arguments, ["cat", "--", "/d/run/" + DumpStore.globalsFile])
        tool = try await Container.dumpExtractTool(directory: "/d/run", globals: false, command: []) { plain }
        XCTAssertEqual(tool.executable, "pg_restore")
        do {
            _ = try await Container.dumpExtractTool(directory: "/d/run", globals: true, command: ["ls"]) { plain }
            XCTFail("--globals with a command")
        } catch let error as PGArchiveError {
            XCTAssertEqual(error.message, "--globals takes no command")
        }
    }

    func testRetentionPlanAsPrinted() throws {
        let lsn = try XCTUnwrap(LSN("0/5000000"))
        var plan = Container.RetentionPlan(snapshots: [Retention.Decision(name: "2026-11-01T08:00:00Z", reason: "older than 2026-11-02T00:00:00Z")],
                                           walCutoff: lsn, wal: [])
        XCTAssertEqual(plan.rendered(thin: false, show: true), """
            would delete snapshot 2026-11-01T08:00:00Z: older than 2026-11-02T00:00:00Z
            would delete 0 WAL segments before 0/5000000 (the oldest REDO point a kept snapshot, clone or the standby needs)

            """)
        plan = Container.RetentionPlan(snapshots: [], walCutoff: nil, wal: [], walBlockedBy: ["clone x: its REDO point is unknown"])
        XCTAssertEqual(plan.rendered(thin: true, show: false), "delete no WAL: clone x: its REDO point is unknown\n")
        XCTAssertEqual(Container.RetentionPlan(snapshots: [], walCutoff: nil, wal: []).rendered(thin: true, show: false), "nothing to thin\n")
    }
}
