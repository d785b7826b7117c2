import ArgumentParser
import Foundation
import PGArchiveCore

struct DumpCreateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Dump every non-template database (or the named ones) and the globals.",
        discussion: "The source is a temporary clone (dump-<pid>) of the newest snapshot, recovered to the newest WAL in the archive (the partial segment included) and removed afterwards, so the upstream sees no load, all databases show the same moment, and that moment is the newest the archive holds (`dump list` shows it as DATA AS OF). --from-upstream dumps the upstream directly instead.\n\nExamples:\n  pgarchive dump create\n  pgarchive dump create shop billing --jobs 4\n  pgarchive dump create --from-upstream shop")
    @OptionGroup var options: ContainerOptions
    @Flag(name: .customLong("from-upstream"), help: "Dump the upstream directly instead of a clone of the newest snapshot.")
    var fromUpstream = false
    @Option(help: "Parallel pg_dump jobs per database (default: dump_jobs, 2).") var jobs: Int?
    @Flag(name: .customLong("no-wait"), help: "Exit 75 instead of waiting when another dump holds the dumps lock.") var noWait = false
    @Argument(help: "Databases to dump (default: all but templates).", completion: .databaseNames) var databases: [String] = []

    func run() async throws {
        let runs = try await options.run(.dumpCreate, wait: !noWait) {
            try await $0.createDumps(databases: databases, fromUpstream: fromUpstream, jobs: jobs)
        }
        for run in runs { print("\(run.database)\t\(run.name)") }
    }
}
