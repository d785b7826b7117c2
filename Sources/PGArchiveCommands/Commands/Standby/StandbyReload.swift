import ArgumentParser
import Foundation
import PGArchiveCore

struct StandbyReloadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "reload", abstract: "Make the standby re-read its configuration.",
        discussion: "Examples:\n  pgarchive standby reload")
    @OptionGroup var options: ContainerOptions
    @OptionGroup var pgCtl: PgCtlArguments

    func run() async throws { try await controlStandby(.standbyReload, .reload, options: options, extra: pgCtl) }
}
