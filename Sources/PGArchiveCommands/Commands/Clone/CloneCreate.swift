import ArgumentParser
import Foundation
import PGArchiveCore

struct CloneCreateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Clone the right snapshot and prepare it to recover to a target (default: latest).",
        discussion: "Without --snapshot the newest snapshot from which the target is reachable is used. The clone is not started unless --start is given.\n\nExamples:\n  pgarchive clone create undo --time '2026-11-21 14:30' --start\n  pgarchive clone create pre-release --restore-point before_release_42\n  pgarchive clone create newest --latest --start\n  pgarchive clone create for-anna --time '2026-11-21 14:30' --allow anna --start")
    @OptionGroup var options: ContainerOptions
    @OptionGroup var target: TargetOptions
    @Option(help: "Base the clone on this snapshot.", completion: .snapshotNames) var snapshot: String?
    @Flag(help: "Start the clone and wait until it is promoted.") var start = false
    @Option(name: .customLong("allow"), help: ArgumentHelp(
        "Let ROLE log in with its password (scram-sha-256) from this machine, or from the network CIDR (SSL required off loopback; clone_listen_addresses must reach it). Repeatable. Without it only the service user can log in, through the socket in run/.",
        valueName: "ROLE[@CIDR]")) var allow: [String] = []
    @Argument(help: "Name of the new clone.") var name: String

    func run() async throws {
        let recoveryTarget = try target.target() // bad options are refused before anything else
        let rules = try allow.map { try CloneAccessRule(parsing: $0) }
        let clone = try await options.run(.cloneCreate, beforeLock: { $0.logResolvedTarget(recoveryTarget) }) { container in
            let clone = try await container.createClone(name: name, target: recoveryTarget, snapshot: snapshot, allow: rules)
            if start { _ = try await container.startClone(name) }
            return clone
        }
        print("\(clone.name) port=\(clone.port) snapshot=\(clone.snapshot) target=\(clone.target)")
    }
}
