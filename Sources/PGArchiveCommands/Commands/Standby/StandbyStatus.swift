import ArgumentParser
import Foundation
import PGArchiveCore

struct StandbyStatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "pg_ctl status of the standby.",
        discussion: "Examples:\n  pgarchive standby status")
    @OptionGroup var options: ContainerOptions
    @OptionGroup var pgCtl: PgCtlArguments

    func run() async throws { try await controlStandby(.standbyStatus, .status, options: options, extra: pgCtl) }
}
