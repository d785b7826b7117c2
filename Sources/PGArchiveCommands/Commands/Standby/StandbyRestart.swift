import ArgumentParser
import Foundation
import PGArchiveCore

struct StandbyRestartCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "restart", abstract: "Restart the standby.",
        discussion: "Examples:\n  pgarchive standby restart")
    @OptionGroup var options: ContainerOptions
    @OptionGroup var pgCtl: PgCtlArguments

    func run() async throws { try await controlStandby(.standbyRestart, .restart, options: options, extra: pgCtl) }
}
