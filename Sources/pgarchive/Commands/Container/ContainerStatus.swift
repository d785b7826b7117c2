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
        let container = try options.open()
        let status = ContainerStatus.gather(container)
        if json {
            print(String(decoding: try JSONOutput.encode(status), as: UTF8.self))
        } else {
            print(status.rendered(), terminator: "")
        }
        if status.health != .ok { throw ExitCode(status.health.exitCode) }
    }
}
