import ArgumentParser
import Foundation
import PGArchiveCore

struct StandbyLogCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "log", abstract: "Show the end of the standby's log, or follow it with -f.",
        discussion: "Examples:\n  pgarchive standby log -l 100\n  pgarchive standby log -f")
    @OptionGroup var options: ContainerOptions
    @OptionGroup var log: LogOptions

    func run() async throws {
        let code = try await options.run(.standbyLog) { try await LogView.show($0.layout.standbyLog, lines: log.lines, follow: log.follow) }
        if code != 0 { throw ExitCode(code) }
    }
}
