import ArgumentParser
import Foundation
import PGArchiveCore

struct ContainerUpstreamCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "upstream",
        abstract: "Open psql on the upstream (extra arguments go to psql).",
        discussion: "Examples:\n  pgarchive container upstream\n  pgarchive container upstream -- -c 'SELECT * FROM pg_replication_slots'")

    @OptionGroup var options: ContainerOptions

    @OptionGroup var psql: PsqlArguments<Help>

    enum Help: PsqlArgumentsHelp {
        static var help: ArgumentHelp { "Arguments for psql, e.g. -c 'SELECT 1'." }
    }

    func run() async throws {
        let code = try await options.run(.containerUpstream) { try await $0.psqlOnUpstream(arguments: psql.arguments) }
        if code != 0 { throw ExitCode(code) }
    }
}
