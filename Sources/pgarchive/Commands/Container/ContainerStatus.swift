import ArgumentParser
import Foundation
import PGArchiveCore

struct ContainerStatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show each subsystem's state, WAL positions, lag, snapshots and cron jobs.",
        discussion: "Exit 0 when healthy, 1 when degraded (archiving goes on but something needs attention), 2 when down (nothing is being archived). --json prints the stable schema documented in MANUAL.md.")

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
