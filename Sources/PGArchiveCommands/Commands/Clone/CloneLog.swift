import ArgumentParser
import Foundation
import PGArchiveCore

struct CloneLogCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "log", abstract: "Show the end of a clone's server log, or follow it with -f.",
        discussion: "Examples:\n  pgarchive clone log before-mistake\n  pgarchive clone log -f before-mistake")
    @OptionGroup var options: ContainerOptions
    @OptionGroup var log: LogOptions
    @Argument(help: "Clone name.", completion: .cloneNames) var name: String

    func run() async throws {
        let code = try await options.run(.cloneLog) { try await $0.showCloneLog(name, lines: log.lines, follow: log.follow) }
        if code != 0 { throw ExitCode(code) }
    }
}
