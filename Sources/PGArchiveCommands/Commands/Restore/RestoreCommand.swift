import ArgumentParser
import Foundation
import PGArchiveCore

struct RestoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Write a complete, startable data directory for a target onto any file system (disaster recovery).",
        discussion: "The directory holds the snapshot, the WAL it needs and the upstream's configuration, with recovery to the target set in postgresql.auto.conf. It does not need pgarchive to start. DIR must be new or empty.\n\nExamples:\n  pgarchive restore --to /srv/restore/main --time '2026-11-21 14:30'\n  pgarchive restore --to /mnt/newhost/data --latest --port 5432\n  pgarchive restore --to /srv/data --latest --tablespace-map fast=/srv/fast")
    @OptionGroup var options: ContainerOptions
    @OptionGroup var target: TargetOptions
    @Option(name: .customLong("to"), help: ArgumentHelp("Directory to write (new or empty).", valueName: "dir"), completion: .directory)
    var directory: String
    @Option(help: "Restore from this snapshot instead of the best one for the target.", completion: .snapshotNames) var snapshot: String?
    @Option(help: "Port the restored server listens on (default: the upstream's setting).") var port: Int?
    @Option(name: .customLong("socket-directory"), help: ArgumentHelp("unix_socket_directories of the restored server.", valueName: "dir"))
    var socketDirectory: String?
    @Option(name: .customLong("tablespace-map"), help: ArgumentHelp("Put tablespace NAME into DIR (absolute; new or empty) instead of inside the restored directory; repeat for each. Unmapped tablespaces go to <dir>/pgarchive_tablespaces/OID.", valueName: "name=dir"))
    var tablespaceMap: [String] = []

    func run() async throws {
        let recoveryTarget = try target.target()
        let tablespaces = try TablespaceRestoreMap(arguments: tablespaceMap)
        let start = try await options.run(.restore, beforeLock: { $0.logResolvedTarget(recoveryTarget) }) { container in
            try await container.restore(to: directory, target: recoveryTarget, snapshot: snapshot, port: port, socketDirectory: socketDirectory,
                                        tablespaceMap: tablespaces)
        }
        print("start it with: \(start)")
    }
}
