import ArgumentParser
import Foundation
import PGArchiveCore
import Postgres

struct ContainerCheckVersionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkversions",
        abstract: "Compare the upstream's PostgreSQL version with the local tools'; exit 1 on a mismatch.",
        discussion: "Examples:\n  pgarchive container checkversions")

    @OptionGroup var options: ContainerOptions

    func run() async throws {
        let container = try options.open()
        let binaries = try await container.binaries()
        let local = try await ToolCommand(executable: binaries.path("postgres"), arguments: ["--version"]).runChecked()
            .standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
        print("local tools:  \(local) (\(binaries.bindir))")
        let connection = try container.upstreamConnection()
        defer { connection.close() }
        let remote = try connection.query("SELECT version() AS v").singleRow().string("v")
        print("upstream:     \(remote)")
        print("container:    made for PostgreSQL \(container.config.upstreamVersion)")
        if connection.serverMajorVersion != binaries.majorVersion || connection.serverMajorVersion != container.config.upstreamVersion {
            let upgraded = connection.serverMajorVersion != container.config.upstreamVersion
                ? "; the upstream was upgraded: `pgarchive container resync --pg-bindir <PostgreSQL \(connection.serverMajorVersion) bin directory>` (MANUAL: Major upgrades of the upstream)" : ""
            throw PGArchiveError("major versions differ: upstream \(connection.serverMajorVersion), local tools \(binaries.majorVersion), container \(container.config.upstreamVersion)" + upgraded)
        }
    }
}

struct ContainerUpstreamCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "upstream",
        abstract: "Open psql on the upstream (extra arguments go to psql).",
        discussion: "Examples:\n  pgarchive container upstream\n  pgarchive container upstream -- -c 'SELECT * FROM pg_replication_slots'")

    @OptionGroup var options: ContainerOptions

    @Argument(parsing: .postTerminator, help: "Arguments for psql, e.g. -c 'SELECT 1'.")
    var psqlArguments: [String] = []

    func run() async throws {
        let container = try options.open()
        let binaries = try await container.binaries()
        var command = try Psql(binaries: binaries, conninfo: container.config.upstream, onErrorStop: false).command
        command.arguments += psqlArguments.first == "--" ? Array(psqlArguments.dropFirst()) : psqlArguments
        let code = try await command.runInteractive()
        if code != 0 { throw ExitCode(code) }
    }
}
