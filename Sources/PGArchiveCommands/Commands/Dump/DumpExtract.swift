import ArgumentParser
import Foundation
import PGArchiveCore

struct DumpExtractCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "extract",
        abstract: "Write a run as a SQL script to stdout, or run a command on its directory.",
        discussion: "With a COMMAND after --, runs it (no shell) with the run's pg_dump directory appended as its last argument, e.g. `pgarchive dump extract mydb -- pg_restore -l > list`, then `pgarchive dump extract mydb -- pg_restore -L list -d mydb`. Without one, writes the run as a plain SQL script (pg_restore -f -). --globals writes the run's globals.sql (roles, tablespaces) instead.\n\nExamples:\n  pgarchive dump extract shop > shop.sql\n  pgarchive dump extract shop --time '2026-11-20 03:00' -- pg_restore -l\n  pgarchive dump extract shop -- pg_restore -L list -c -d shop")
    @OptionGroup var options: ContainerOptions
    @OptionGroup var time: DumpTimeOption
    @Flag(help: "Write the globals (pg_dumpall --globals-only) of the run instead.") var globals = false
    @Argument(help: "Database.", completion: .databaseNames) var database: String
    @Argument(parsing: .postTerminator, help: "Command to run with the run's directory as last argument.") var command: [String] = []

    func run() async throws {
        let code = try await options.run(.dumpExtract) { container in
            try await container.extractDump(database, at: try time.date(), globals: globals, command: command.passthrough)
        }
        if code != 0 { throw ExitCode(code) }
    }
}
