import ArgumentParser
import Foundation
import PGArchiveCore

struct ContainerStatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show each subsystem's state, WAL positions and lag; exit 1 if anything is down.")

    @OptionGroup var options: ContainerOptions

    @Flag(help: "Print JSON instead of text.")
    var json = false

    func run() async throws {
        let container = try options.open()
        let status = ContainerStatus.gather(container)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            encoder.dateEncodingStrategy = .iso8601
            print(String(decoding: try encoder.encode(status), as: UTF8.self))
        } else {
            print(status.rendered(), terminator: "")
        }
        if !status.healthy { throw ExitCode(1) }
    }
}
