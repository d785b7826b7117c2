import ArgumentParser
import Foundation
import PGArchiveCore

struct DumpRestoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Restore a database's run (or some tables of it) into a database with pg_restore.",
        discussion: "--into is a libpq connection string naming an existing database; it must not contain a password (use ~/.pgpass). Arguments after -- go to pg_restore, e.g. -- --no-owner --clean.\n\nExamples:\n  pgarchive dump restore shop --into 'dbname=shop_copy' --table orders\n  pgarchive dump restore shop --time '2026-11-20' --into 'dbname=shop_copy'")
    @OptionGroup var options: ContainerOptions
    @OptionGroup var time: DumpTimeOption
    @Option(name: .customLong("into"), help: ArgumentHelp("Connection string of the database to restore into.", valueName: "conninfo"))
    var into: String
    @Option(name: .customLong("table"), help: "Restore only this table (repeatable; pg_restore -t).") var tables: [String] = []
    @Option(help: "Parallel pg_restore jobs (default: dump_jobs, 2).") var jobs: Int?
    @Argument(help: "Database whose dump to restore.", completion: .databaseNames) var database: String
    @Argument(parsing: .postTerminator, help: "Extra pg_restore arguments.") var extra: [String] = []

    func run() async throws {
        try await options.run(.dumpRestore) { container in
            try await container.restoreDump(database, at: try time.date(), into: into, tables: tables, jobs: jobs, extra: extra.passthrough)
        }
    }
}
