import ArgumentParser
import Foundation
import PGArchiveCore

struct SnapshotCreateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Force a restartpoint on the standby and snapshot it, named after the restartpoint's UTC time.",
        discussion: """
            A snapshot holds what the standby replayed up to its newest restartpoint, which can \
            only land on a checkpoint the upstream made. To snapshot everything committed up to \
            now, --checkpoint-upstream first runs CHECKPOINT and pg_switch_wal() on the upstream \
            (superuser or pg_checkpoint) and waits until the standby has replayed them.

            Examples:
              pgarchive snapshot create
              pgarchive snapshot create --checkpoint-upstream
              pgarchive snapshot create --force
            """)
    @OptionGroup var options: ContainerOptions
    @Flag(help: "Snapshot even when the standby is down or its restartpoint is old.") var force = false
    @Flag(name: .customLong("no-wait"), help: "Exit 75 instead of waiting when another pgarchive holds the snapshot lock.") var noWait = false
    @Flag(name: .customLong("checkpoint-upstream"), help: "CHECKPOINT the upstream first and wait until the standby has replayed it.") var checkpointUpstream = false
    @Option(name: .customLong("replay-timeout"), help: ArgumentHelp("Seconds to wait for the standby with --checkpoint-upstream.", valueName: "seconds")) var replayTimeout = 300

    func validate() throws {
        guard replayTimeout > 0 else { throw ValidationError("--replay-timeout must be a positive number of seconds") }
    }

    func run() async throws {
        let snapshot = try await options.run(.snapshotCreate, wait: !noWait) { container in
            if checkpointUpstream { try await container.checkpointUpstreamAndWaitForReplay(timeout: TimeInterval(replayTimeout)) }
            return try await container.createSnapshot(force: force)
        }
        print(snapshot.name)
    }
}
