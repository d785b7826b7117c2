import ArgumentParser
import Foundation
import PGArchiveCore
import Postgres

struct ContainerDashboardCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dashboard",
        abstract: "One screen for a person: status, processes, disk use, the upstream's view, recent log lines.",
        discussion: "Colour on a terminal; none when piped or when NO_COLOR is set.\n\nExamples:\n  pgarchive container dashboard\n  watch -c pgarchive container dashboard")
    @OptionGroup var options: ContainerOptions
    @Option(name: .short, help: "Log lines per log.") var lines = 5

    func run() async throws {
        let container = try options.open()
        let useColor = isatty(STDOUT_FILENO) == 1 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil
        print(Dashboard.render(container, logLines: lines, color: useColor), terminator: "")
    }
}

struct ContainerMonitorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "monitor", abstract: "Follow all current logs of the container (tail -F).",
        discussion: "Examples:\n  pgarchive container monitor")
    @OptionGroup var options: ContainerOptions

    func run() async throws {
        let container = try options.open()
        let logs = Dashboard.currentLogs(container)
        guard !logs.isEmpty else { throw PGArchiveError("no logs yet in \(container.layout.logs)") }
        let code = try await ToolCommand(executable: "tail", arguments: ["-n", "5", "-F", "--"] + logs).runInteractive()
        if code != 0 { throw ExitCode(code) }
    }
}
