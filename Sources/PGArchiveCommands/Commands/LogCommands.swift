import ArgumentParser
import Foundation
import PGArchiveCore
import Postgres

/// Shows the last lines of a log; with `follow`, hands over to `tail -f` (argv, no shell).
func showLog(_ path: String, lines: Int, follow: Bool) async throws {
    guard FileManager.default.fileExists(atPath: path) else {
        throw PGArchiveError("no log yet at \(path)")
    }
    let command = ToolCommand(executable: "tail", arguments: ["-n", String(lines)] + (follow ? ["-F"] : []) + ["--", path])
    let code = try await command.runInteractive()
    if code != 0 { throw ExitCode(code) }
}
