import Foundation
import PGArchiveCommands
import PGArchiveCore
import PGArchiveTestSupport
import XCTest

/// The command line itself, through the built binary: help for every command, the version,
/// usage errors, and the errors a person meets before any server is involved.
final class CLIIntegrationTests: XCTestCase {
    let binary = PGArchiveBinary()

    /// Every command and group, walked from the command tree (no list kept by hand).
    static let commands: [[String]] = PGArchiveCommand.commandPaths

    func testEveryCommandHasHelp() async throws {
        for command in Self.commands {
            let result = try await binary.run(command + ["--help"])
            XCTAssertEqual(result.exitCode, 0, "pgarchive \(command.joined(separator: " ")) --help: \(result)")
            XCTAssertTrue(result.stdout.contains("USAGE: pgarchive"), "pgarchive \(command.joined(separator: " ")) --help: \(result)")
            XCTAssertTrue(result.stdout.contains("OVERVIEW:"), "\(command)")
        }
        let top = try await binary.run(["--help"])
        for group in ["container", "wal", "standby", "snapshot", "clone", "restorepoint", "dump", "cron"] {
            XCTAssertTrue(top.stdout.contains("  \(group) ") || top.stdout.contains("  \(group),"), "--help lacks the \(group) group:\n\(top.stdout)")
        }
        let viaHelp = try await binary.run(["help", "clone", "create"])
        XCTAssertEqual(viaHelp.exitCode, 0, "\(viaHelp)")
        XCTAssertTrue(viaHelp.stdout.contains("--restore-point"), viaHelp.stdout)
    }

    func testVersionAndUsageErrors() async throws {
        let version = try await binary.run(["--version"])
        XCTAssertEqual(version.exitCode, 0)
        XCTAssertEqual(version.stdout.trimmingCharacters(in: .whitespacesAndNewlines), PGArchiveVersion.string)
        let unknown = try await binary.run(["snapshot", "frobnicate"])
        XCTAssertNotEqual(unknown.exitCode, 0)
        XCTAssertTrue(unknown.stderr.contains("Unexpected argument 'frobnicate'"), unknown.stderr)
    }

    /// A bad name is refused at once, also while another pgarchive holds the lock the command
    /// would wait for (it used to wait for the lock first).
    func testBadRestorePointNameIsRefusedWithoutWaitingForTheLock() async throws {
        let root = NSTemporaryDirectory() + "pgarchive-rp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: root + "/run", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        defer { try? FileManager.default.removeItem(atPath: root) }
        XCTAssertTrue(FileManager.default.createFile(atPath: root + "/pgarchive.conf", contents: Data(), attributes: [.posixPermissions: 0o600]))
        let held = try ContainerLock.acquire(.restorePoints, in: root + "/run", command: "restorepoint create other", wait: false)
        defer { _ = held }
        for (name, message) in [("../x", "restore point"), (String(repeating: "a", count: 64), "limited to 63 bytes")] {
            // timeout(1) turns a wait for the lock into exit 124 instead of a hung test.
            let result = try await ToolCommand(executable: "timeout", arguments: ["20", binary.path, "restorepoint", "create", name, "-C", root]).run()
            XCTAssertEqual(result.exitCode, 1, "\(name): \(result.standardError)")
            XCTAssertTrue(result.standardError.contains(message), result.standardError)
        }
    }

    func testContainerMustBeGivenAndExist() async throws {
        let none = try await binary.run(["container", "status"], environment: ["PGARCHIVE": nil])
        XCTAssertEqual(none.exitCode, 1)
        XCTAssertEqual(none.stderr, "pgarchive: error: no container given: pass --container/-C PATH or set PGARCHIVE=PATH\n")
        let missing = try await binary.run(["snapshot", "list", "-C", "/nonexistent/c"])
        XCTAssertEqual(missing.exitCode, 1)
        XCTAssertTrue(missing.stderr.contains("container /nonexistent/c does not exist; create it with `pgarchive container init"), missing.stderr)
        let targets = try await binary.run(["clone", "create", "x", "--latest", "--immediate", "-C", "/nonexistent/c"])
        XCTAssertEqual(targets.exitCode, 1)
        XCTAssertEqual(targets.stderr, "pgarchive: error: give at most one of --time, --restore-point, --lsn, --xid, --immediate, --latest\n")
    }
}

/// MANUAL.md's command reference is the binary's --help, so the two cannot drift apart.
final class ManualReferenceTests: XCTestCase {
    func testManualCommandReferenceMatchesHelp() async throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let generated = try await ToolCommandRunner.run("bash", [root.appendingPathComponent("scripts/command-reference.sh").path, PGArchiveBinary().path])
        let manual = try String(contentsOf: root.appendingPathComponent("MANUAL.md"), encoding: .utf8)
        let begin = "<!-- BEGIN COMMAND REFERENCE (make manual) -->", end = "<!-- END COMMAND REFERENCE -->"
        let block = try XCTUnwrap(manual.range(of: begin).flatMap { b in manual.range(of: end).map { manual[b.upperBound..<$0.lowerBound] } })
        XCTAssertEqual(block.trimmingCharacters(in: .whitespacesAndNewlines), generated.trimmingCharacters(in: .whitespacesAndNewlines),
                       "MANUAL.md's command reference differs from --help: run `make manual` and commit MANUAL.md")
        XCTAssertTrue(generated.contains("### `pgarchive clone create`"), generated)
        // Every command's --help has a description and at least one example.
        let sections = generated.components(separatedBy: "### `pgarchive").dropFirst()
        XCTAssertEqual(sections.map { String($0.prefix { $0 != "`" }).split(separator: " ").map(String.init) },
                       PGArchiveCommand.commandPaths, "the reference has a section for each command of the tree, in its order")
        for section in sections {
            let name = section.prefix { $0 != "`" }
            XCTAssertTrue(section.contains("OVERVIEW: "), "pgarchive\(name) --help has no description")
            XCTAssertTrue(section.contains("\nExamples:\n  "), "pgarchive\(name) --help has no example")
        }
    }
}

import Postgres

enum ToolCommandRunner {
    static func run(_ executable: String, _ arguments: [String]) async throws -> String {
        let output = try await ToolCommand(executable: executable, arguments: arguments).runChecked()
        return output.standardOutput
    }
}
