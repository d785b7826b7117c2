import ArgumentParser
import Foundation
import PGArchiveCore

struct WALStatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Show whether pg_receivewal runs; exit 1 if not.",
        discussion: "Examples:\n  pgarchive wal status")
    @OptionGroup var options: ContainerOptions

    func run() async throws {
        let state = try await options.run(.walStatus) { $0.receiver.state() }
        print("pg_receivewal: \(state)")
        if !state.isRunning { throw ExitCode(1) }
    }
}
