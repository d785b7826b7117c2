import Foundation
import Postgres

/// Runs the built `pgarchive` binary the way an operator would, capturing exit code,
/// stdout and stderr. The binary is `$PGARCHIVE_BIN` (set by `make test`) or the debug
/// build next to this package.
public struct PGArchiveBinary: Sendable {
    public var path: String
    /// Environment added for every run (e.g. PGPASSFILE).
    public var environment: [String: String?]

    public init(environment: [String: String?] = [:]) {
        var environment = environment
        // Keep the port registry of test containers on the scratch file system, shared by
        // all tests of a run (so side-by-side containers still get distinct ports).
        if let scratch = ProcessInfo.processInfo.environment["PGARCHIVE_TEST_BTRFS"], !scratch.isEmpty,
           environment["XDG_STATE_HOME"] == nil {
            environment["XDG_STATE_HOME"] = scratch + "/state"
        }
        self.environment = environment
        if let fromEnv = ProcessInfo.processInfo.environment["PGARCHIVE_BIN"], !fromEnv.isEmpty {
            path = fromEnv
        } else {
            // Sources/PGArchiveTestSupport/BinaryRunner.swift → package root.
            let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            path = root.appendingPathComponent(".build/debug/pgarchive").path
        }
    }

    public struct Result: Sendable, CustomStringConvertible {
        public var exitCode: Int32
        public var stdout: String
        public var stderr: String
        public var description: String { "exit \(exitCode)\n--- stdout\n\(stdout)--- stderr\n\(stderr)" }
    }

    /// Runs `pgarchive ARGS…` to completion.
    public func run(_ arguments: [String], environment extra: [String: String?] = [:], input: String? = nil) async throws -> Result {
        var env = environment
        for (k, v) in extra { env[k] = v }
        let output = try await ToolCommand(executable: path, arguments: arguments, environment: env).run(input: input)
        return Result(exitCode: output.exitCode ?? (128 + (output.signal ?? 0)),
                      stdout: output.standardOutput, stderr: output.standardError)
    }
}
