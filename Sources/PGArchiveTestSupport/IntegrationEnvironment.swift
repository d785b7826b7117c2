import Foundation
import XCTest

/// Decides what an integration test does when a real component (PostgreSQL, btrfs) is
/// missing: skip with the reason, or — under `PGARCHIVE_TEST_REQUIRE=1`, as in CI — fail.
public enum IntegrationEnvironment {
    public static var isRequired: Bool {
        ProcessInfo.processInfo.environment["PGARCHIVE_TEST_REQUIRE"] == "1"
    }

    /// Throws `XCTSkip(reason)` normally; throws a failing error when components are required.
    public static func unavailable(_ reason: String, file: StaticString = #filePath, line: UInt = #line) throws -> Never {
        if isRequired {
            XCTFail("PGARCHIVE_TEST_REQUIRE=1 but \(reason)", file: file, line: line)
            throw RequiredComponentMissing(reason: reason)
        }
        throw XCTSkip(reason, file: file, line: line)
    }

    /// The btrfs mount handed in by `make test` (`PGARCHIVE_TEST_BTRFS`), or skip/fail.
    public static func btrfsRoot(file: StaticString = #filePath, line: UInt = #line) throws -> String {
        guard let path = ProcessInfo.processInfo.environment["PGARCHIVE_TEST_BTRFS"], !path.isEmpty else {
            try unavailable("PGARCHIVE_TEST_BTRFS is not set (run `make test`, which mounts a btrfs loop file system)", file: file, line: line)
        }
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue else {
            try unavailable("PGARCHIVE_TEST_BTRFS=\(path) is not a directory", file: file, line: line)
        }
        return path
    }

    /// The small btrfs mount (a few hundred MiB) `make test` hands in for the disk-full test
    /// (`PGARCHIVE_TEST_SMALL_BTRFS`), which fills it up on purpose; or skip/fail.
    public static func smallBtrfsRoot(file: StaticString = #filePath, line: UInt = #line) throws -> String {
        guard let path = ProcessInfo.processInfo.environment["PGARCHIVE_TEST_SMALL_BTRFS"], !path.isEmpty else {
            try unavailable("PGARCHIVE_TEST_SMALL_BTRFS is not set (run `make test`, which mounts a small btrfs loop file system for the disk-full test)", file: file, line: line)
        }
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue else {
            try unavailable("PGARCHIVE_TEST_SMALL_BTRFS=\(path) is not a directory", file: file, line: line)
        }
        return path
    }

    public struct RequiredComponentMissing: Error, CustomStringConvertible {
        public let reason: String
        public var description: String { "required test component missing: \(reason)" }
    }
}
