import ArgumentParser
import Foundation
import PGArchiveCore

struct StandbyStopCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stop", abstract: "Stop the standby (pg_ctl stop; extra arguments such as -m immediate pass through).",
        discussion: "Examples:\n  pgarchive standby stop\n  pgarchive standby stop -- -m immediate")
    @OptionGroup var options: ContainerOptions
    @OptionGroup var pgCtl: PgCtlArguments

    func run() async throws { try await controlStandby(.standbyStop, .stop, options: options, extra: pgCtl) }
}
