import ArgumentParser
import Foundation
import PGArchiveCore

struct SnapshotListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List snapshots: name, restorable-from time, REDO LSN, clones based on it.",
        discussion: "Examples:\n  pgarchive snapshot list\n  pgarchive snapshot list --json")
    @OptionGroup var options: ContainerOptions
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        try await options.run(.snapshotList) { container in
            let all = try container.snapshots.list()
            if json {
                try JSONOutput.print(all)
                return
            }
            let dependents = container.cloneDependents()
            print("NAME                  RESTORABLE FROM       REDO LSN        TIMELINE  CLONES")
            for s in all {
                print("\(s.name.padded(21)) \(ISO8601.utc(s.consistentFrom).padded(21)) \(s.redoLSN.description.padded(15)) \(String(s.timeline).padded(9)) \(dependents[s.name]?.joined(separator: ",") ?? "")")
            }
            for name in container.snapshots.incomplete() {
                warn("\(name) in \(container.layout.snapshots) is incomplete (an interrupted snapshot create); the next snapshot create removes it")
            }
        }
    }
}
