import ArgumentParser
import Foundation
import PGArchiveCore

struct WALLogCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "log", abstract: "Show the end of pg_receivewal's log, or follow it with -f.",
        discussion: "Examples:\n  pgarchive wal log\n  pgarchive wal log -f")
    @OptionGroup var options: ContainerOptions
    @OptionGroup var log: LogOptions

    func run() async throws {
        let code = try await options.run(.walLog) { try await LogView.show($0.layout.receiverLog, lines: log.lines, follow: log.follow) }
        if code != 0 { throw ExitCode(code) }
    }
}
