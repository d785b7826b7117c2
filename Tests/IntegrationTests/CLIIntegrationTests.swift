import Foundation
import PGArchiveCore
import PGArchiveTestSupport
import XCTest

/// The command line itself, through the built binary: help for every command, the version,
/// usage errors, and the errors a person meets before any server is involved.
final class CLIIntegrationTests: XCTestCase {
    let binary = PGArchiveBinary()

    static let commands: [[String]] = [
        [], ["container"], ["container", "init"], ["container", "start"], ["container", "stop"],
        ["container", "status"], ["container", "purge"], ["container", "retire"], ["container", "resync"],
        ["container", "checkversions"], ["container", "upstream"], ["clone", "psql"], ["standby", "stop"], ["container", "initcron"],
        ["wal"], ["wal", "fetch"], ["wal", "list"], ["wal", "du"], ["wal", "log"], ["wal", "compress"],
        ["standby"], ["standby", "start"], ["snapshot"], ["snapshot", "create"], ["snapshot", "list"],
        ["snapshot", "delete"], ["snapshot", "expire"], ["snapshot", "thin"], ["clone"], ["clone", "create"],
        ["clone", "start"], ["clone", "delete"], ["clone", "duplicate"], ["restorepoint"],
        ["restorepoint", "create"], ["restore"], ["cron"], ["cron", "expire-and-create-snapshot"],
        ["cron", "compress-wal"], ["cron", "watchdog"], ["cron", "maintenance"],
    ]

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

    func testContainerMustBeGivenAndExist() async throws {
        let none = try await binary.run(["container", "status"], environment: ["PGARCHIVE": nil])
        XCTAssertEqual(none.exitCode, 1)
        XCTAssertEqual(none.stderr, "pgarchive: error: no container given: pass --container/-C PATH or set PGARCHIVE=PATH\n")
        let missing = try await binary.run(["snapshot", "list", "-C", "/nonexistent/c"])
        XCTAssertEqual(missing.exitCode, 1)
        XCTAssertTrue(missing.stderr.contains("container /nonexistent/c does not exist; create it with `pgarchive container init"), missing.stderr)
        let targets = try await binary.run(["clone", "create", "x", "--latest", "--immediate", "-C", "/nonexistent/c"])
        XCTAssertEqual(targets.exitCode, 1)
    }
}
