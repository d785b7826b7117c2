import ArgumentParser
import Foundation
import PGArchiveCore

struct ContainerMonitorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "monitor", abstract: "Follow all current logs of the container (tail -F).",
        discussion: "Examples:\n  pgarchive container monitor")
    @OptionGroup var options: ContainerOptions

    func run() async throws {
        let code = try await options.run(.containerMonitor) { try await $0.monitorLogs() }
        if code != 0 { throw ExitCode(code) }
    }
}
