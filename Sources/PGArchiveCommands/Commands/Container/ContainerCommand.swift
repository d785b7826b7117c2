import ArgumentParser

struct ContainerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "container",
        abstract: "Create, run, inspect and remove containers (WAL archive + warm standby of one upstream).",
        discussion: "Examples:\n  pgarchive container init -C /srv/pgarchive/main --upstream 'host=db1'\n  pgarchive container status",
        subcommands: [
            ContainerInitCommand.self, ContainerStartCommand.self, ContainerStopCommand.self,
            ContainerStatusCommand.self, ContainerPurgeCommand.self, ContainerRetireCommand.self,
            ContainerResyncCommand.self, ContainerCheckVersionsCommand.self, ContainerUpstreamCommand.self,
            ContainerInitCronCommand.self, ContainerDashboardCommand.self, ContainerMonitorCommand.self,
        ]
    )
}
