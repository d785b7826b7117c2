import ArgumentParser

struct ContainerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "container",
        abstract: "Create, run, inspect and remove containers (WAL archive + warm standby of one upstream).",
        subcommands: [
            ContainerInitCommand.self, ContainerStartCommand.self, ContainerStopCommand.self,
            ContainerStatusCommand.self, ContainerPurgeCommand.self, ContainerRetireCommand.self,
            ContainerResyncCommand.self, ContainerCheckVersionsCommand.self, ContainerUpstreamCommand.self,
            ContainerInitCronCommand.self, ContainerDashboardCommand.self, ContainerMonitorCommand.self,
        ]
    )
}
