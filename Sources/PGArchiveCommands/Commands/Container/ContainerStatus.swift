import ArgumentParser
import Foundation
import PGArchiveCore

struct ContainerStatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show each subsystem's state, WAL positions, lag, snapshots and cron jobs.",
        discussion: "Exit 0 when healthy, 1 when degraded (something needs attention), 2 when down (both daemons stopped, or the slot is gone). --json prints the stable schema of docs/status.schema.json.\n\nExamples:\n  pgarchive container status\n  pgarchive container status --json | jq .health")

    @OptionGroup var options: ContainerOptions

    @Flag(help: "Print JSON instead of text.")
    var json = false

    func run() async throws {
        try Self.show(try options.open(), json: json)
    }

    /// Prints the status of `container` and exits with its health (also `pgarchive status`).
    static func show(_ container: Container, json: Bool) throws {
        let status = ContainerStatus.gather(container)
        if json {
            print(String(decoding: try JSONOutput.encode(status), as: UTF8.self))
        } else {
            print(status.rendered(), terminator: "")
        }
        if status.health != .ok { throw ExitCode(status.health.exitCode) }
    }
}
