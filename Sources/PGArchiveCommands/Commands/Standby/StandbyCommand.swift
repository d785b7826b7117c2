import ArgumentParser

struct StandbyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "standby",
        abstract: "The warm standby: a thin front for pg_ctl on standby/.",
        discussion: "Examples:\n  pgarchive standby status\n  pgarchive standby log -f",
        subcommands: [StandbyStartCommand.self, StandbyStopCommand.self, StandbyStatusCommand.self,
                      StandbyReloadCommand.self, StandbyRestartCommand.self, StandbyLogCommand.self]
    )
}
