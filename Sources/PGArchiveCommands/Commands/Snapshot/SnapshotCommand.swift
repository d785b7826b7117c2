import ArgumentParser
import Foundation
import PGArchiveCore

struct SnapshotCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshot",
        abstract: "Read-only btrfs snapshots of the standby: create, list, delete, expire, thin.",
        discussion: "Examples:\n  pgarchive snapshot create\n  pgarchive snapshot list",
        subcommands: [SnapshotCreateCommand.self, SnapshotListCommand.self, SnapshotDeleteCommand.self,
                      SnapshotExpireCommand.self, SnapshotThinCommand.self]
    )
}

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
        let container = try options.open()
        let lock = try container.lock(.snapshots, command: "snapshot create", wait: !noWait)
        defer { _ = lock }
        if checkpointUpstream { try await container.checkpointUpstreamAndWaitForReplay(timeout: TimeInterval(replayTimeout)) }
        let snapshot = try await container.createSnapshot(force: force)
        print(snapshot.name)
    }
}

struct SnapshotListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List snapshots: name, restorable-from time, REDO LSN, clones based on it.",
        discussion: "Examples:\n  pgarchive snapshot list\n  pgarchive snapshot list --json")
    @OptionGroup var options: ContainerOptions
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        let container = try options.open()
        let all = try container.snapshots.list()
        if json {
            print(String(decoding: try JSONOutput.encode(all), as: UTF8.self))
            return
        }
        let dependents = container.cloneDependents()
        print("NAME                  RESTORABLE FROM       REDO LSN        TIMELINE  CLONES")
        for s in all {
            print("\(s.name.padded(21)) \(ISO8601.utc(s.consistentFrom).padded(21)) \(s.redoLSN.description.padded(15)) \(String(s.timeline).padded(9)) \(dependents[s.name]?.joined(separator: ",") ?? "")")
        }
        for name in container.snapshots.incomplete() {
            FileHandle.standardError.write(Data("pgarchive: warning: \(name) in \(container.layout.snapshots) is incomplete (an interrupted snapshot create); the next snapshot create removes it\n".utf8))
        }
    }
}

struct SnapshotDeleteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete", abstract: "Delete snapshots by name (all names are checked before any is deleted).",
        discussion: "Examples:\n  pgarchive snapshot delete 2026-11-20T08:15:00Z 2026-11-20T09:15:00Z")
    @OptionGroup var options: ContainerOptions
    @Flag(help: "Also delete snapshots that clones are based on.") var force = false
    @Argument(help: "Snapshot names.", completion: .snapshotNames) var names: [String]

    func run() async throws {
        let container = try options.open()
        let lock = try container.lock(.snapshots, command: "snapshot delete")
        defer { _ = lock }
        try container.deleteSnapshots(names, force: force)
    }
}

enum JSONOutput {
    static func encode<T: Encodable>(_ value: T) throws -> Data {
        try SnapshotStore.encoder.encode(value)
    }
}

extension String {
    func padded(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
}
