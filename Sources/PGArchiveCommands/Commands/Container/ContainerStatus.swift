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
        try Self.show(try await options.run(.containerStatus) { ContainerStatus.gather($0) }, json: json)
    }

    /// Prints `status` and exits with its health (also `pgarchive status`).
    static func show(_ status: ContainerStatus, json: Bool) throws {
        if json {
            try JSONOutput.print(status)
        } else {
            print(status.rendered(), terminator: "")
        }
        if status.health != .ok { throw ExitCode(status.health.exitCode) }
    }
}
