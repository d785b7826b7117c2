import ArgumentParser
import Foundation
import Logging
import PGArchiveCore

/// The command tree. Every command's work lives in PGArchiveCore; this target only parses.
public struct PGArchiveCommand: AsyncParsableCommand {
    public init() {}

    public static let configuration = CommandConfiguration(
        commandName: "pgarchive",
        abstract: "A PostgreSQL archive server: continuous WAL archive, warm standby, btrfs snapshots, point-in-time clones in seconds.",
        discussion: """
            Each upstream cluster is backed up into a container directory on btrfs. Give the \
            container with --container/-C or the PGARCHIVE environment variable. Log lines go \
            to stderr, results to stdout. See MANUAL.md for the full manual.

            Examples:
              export PGARCHIVE=/srv/pgarchive/main
              pgarchive container status
              pgarchive clone create undo --time '2026-11-21 14:30' --start
            """,
        version: PGArchiveVersion.string,
        subcommands: [
            ContainerCommand.self,
            WALCommand.self,
            StandbyCommand.self,
            SnapshotCommand.self,
            CloneCommand.self,
            RestorePointCommand.self,
            RestoreCommand.self,
            StatusCommand.self,
            CheckCommand.self,
            VerifyCommand.self,
            DumpCommand.self,
            CronCommand.self,
            MetricsCommand.self,
            BashCompletionCommand.self,
        ]
    )

    /// Parses the command line and runs the command, printing `pgarchive: error: …` for our
    /// own errors and exiting with their code (75 for a held lock, so cron can tell "busy"
    /// from "broken"). The executable's main calls it.
    public static func execute() async {
        var command: any ParsableCommand
        do {
            command = try parseAsRoot()
        } catch {
            exit(withError: error) // usage errors, --help, --version
        }
        do {
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let error as PGArchiveError {
            FileHandle.standardError.write(Data("pgarchive: error: \(error.message)\n".utf8))
            Foundation.exit(error.exitCode)
        } catch let error as ExitCode {
            Foundation.exit(error.rawValue)
        } catch {
            // ArgumentParser's own errors (help requested through `pgarchive help X`, usage)
            // keep its formatting and exit codes; everything else is a pgarchive error.
            if String(reflecting: type(of: error)).hasPrefix("ArgumentParser.") {
                exit(withError: error)
            }
            FileHandle.standardError.write(Data("pgarchive: error: \(error)\n".utf8))
            Foundation.exit(1)
        }
    }
}
