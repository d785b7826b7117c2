import ArgumentParser
import Foundation
import PGArchiveCore

struct ContainerDashboardCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dashboard",
        abstract: "One screen for a person: status, processes, disk use, the upstream's view, recent log lines.",
        discussion: "Colour on a terminal; none when piped or when NO_COLOR is set.\n\nExamples:\n  pgarchive container dashboard\n  watch -c pgarchive container dashboard")
    @OptionGroup var options: ContainerOptions
    @Option(name: .short, help: "Log lines per log.") var lines = 5

    func run() async throws {
        let useColor = isatty(STDOUT_FILENO) == 1 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil
        let text = try await options.run(.containerDashboard) { Dashboard.render($0, logLines: lines, color: useColor) }
        print(text, terminator: "")
    }
}
