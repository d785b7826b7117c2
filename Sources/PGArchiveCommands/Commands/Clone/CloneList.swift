import ArgumentParser
import Foundation
import PGArchiveCore

struct CloneListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List clones with port, base snapshot and target.",
        discussion: "Examples:\n  pgarchive clone list --status\n  pgarchive clone list --json")
    @OptionGroup var options: ContainerOptions
    @Flag(help: "Also show whether each clone is running.") var status = false
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        let clones = try await options.run(.cloneList) { container in
            try container.clones.list().map { ($0, status && container.clones.state($0.name).isRunning) }
        }
        if json { try JSONOutput.print(clones.map(\.0)); return }
        for (clone, isRunning) in clones {
            let running = status ? " " + (isRunning ? "running" : "stopped").padded(8) : ""
            print("\(clone.name.padded(20)) port=\(String(clone.port).padded(6))\(running) snapshot=\(clone.snapshot) target=\(clone.target)")
        }
    }
}
