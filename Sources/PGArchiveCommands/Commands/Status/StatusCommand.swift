import ArgumentParser
import Foundation
import PGArchiveCore

/// `pgarchive status`: `container status` of one container, or with --all one line per
/// container under a root (Fleet), worst first.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Status of one container (as `container status`), or with --all of every container under a root, one line each.",
        discussion: """
            With --all, each container under --root (default: containers_root in \
            /etc/pgarchive.conf; a container is a subdirectory holding a pgarchive.conf) gets one \
            line: health, newest snapshot's age, restorable range, replay lag, last verify and its \
            first problem, worst first (ERROR: it cannot be opened, then DOWN, DEGRADED, ok). The \
            exit code is the worst health: 0 ok, 1 degraded, 2 down or a container that cannot be \
            opened. --json prints docs/fleet-status.schema.json, each container's status as \
            `container status --json` prints it.

            Examples:
              pgarchive status --all
              pgarchive status --all --root /srv/pgarchive --json | jq -r '.containers[].health'
              pgarchive status -C /srv/pgarchive/main
            """)

    @OptionGroup var options: ContainerOptions

    @Flag(help: "Every container under --root (default: containers_root in /etc/pgarchive.conf).")
    var all = false

    @Option(help: ArgumentHelp("The directory holding the containers, for --all (implies --all).", valueName: "dir"),
            completion: .directory)
    var root: String?

    @Flag(help: "Print JSON instead of text.")
    var json = false

    func run() async throws {
        guard all || root != nil else {
            try ContainerStatusCommand.show(try await options.run(.status) { ContainerStatus.gather($0) }, json: json)
            return
        }
        try options.startup()
        if let container = options.container, !container.isEmpty {
            throw PGArchiveError("give either --all/--root DIR or --container/-C PATH, not both")
        }
        let directory = try Fleet.root(option: root)
        let report = Fleet.status(root: directory, paths: try Fleet.containers(under: directory))
        if json {
            try JSONOutput.print(report)
        } else {
            print(Fleet.renderStatus(report), terminator: "")
        }
        if report.health != .ok { throw ExitCode(report.health.exitCode) }
    }
}
