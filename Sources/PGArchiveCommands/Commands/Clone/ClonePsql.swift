import ArgumentParser
import Foundation
import PGArchiveCore

struct ClonePsqlCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "psql", abstract: "Open psql on a clone (extra arguments go to psql).",
        discussion: "Examples:\n  pgarchive clone psql before-mistake\n  pgarchive clone psql before-mistake -- -c 'SELECT count(*) FROM orders'")
    @OptionGroup var options: ContainerOptions
    @Argument(help: "Clone name.", completion: .cloneNames) var name: String
    @OptionGroup var psql: PsqlArguments<Help>

    enum Help: PsqlArgumentsHelp {
        static var help: ArgumentHelp { "Arguments for psql." }
    }

    func run() async throws {
        let code = try await options.run(.clonePsql) { try await $0.psqlOnClone(name, arguments: psql.arguments) }
        if code != 0 { throw ExitCode(code) }
    }
}
