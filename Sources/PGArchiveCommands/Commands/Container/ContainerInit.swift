import ArgumentParser
import Foundation
import PGArchiveCore

struct ContainerInitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create a container: slot, pg_receivewal, one base backup, a running standby.",
        discussion: """
            The container path must not exist (or be an empty directory) and must be on \
            btrfs. Passwords never go into a conninfo: put them into ~/.pgpass or the file \
            named by PGPASSFILE (recorded in the container so cron jobs find it too). If \
            init fails half-way, everything it created (the slot included) is removed.

            Examples:
              pgarchive container init -C /srv/pgarchive/main --upstream 'host=db1'
              PGPASSFILE=/etc/pgarchive/db2.pgpass pgarchive container init \\
                  -C /srv/pgarchive/db2 --upstream 'host=db2 user=archiver'
            """
    )

    @OptionGroup var options: ContainerOptions

    @Option(help: ArgumentHelp("libpq conninfo of the upstream (default: libpq's defaults).", valueName: "conninfo"))
    var upstream: String = ""

    @Option(name: .customLong("upstream-replication"),
            help: ArgumentHelp("conninfo for replication connections (default: --upstream).", valueName: "conninfo"))
    var upstreamReplication: String?

    @Option(help: "Replication slot to create on the upstream (default: pgarchive_<directory name>).")
    var slot: String?

    @Option(name: .customLong("pg-bindir"), help: ArgumentHelp("Directory of the PostgreSQL binaries (default: found for the upstream's version).", valueName: "dir"),
            completion: .directory)
    var pgBindir: String?

    @Option(name: .customLong("standby-port"), help: "Port of the standby (default: a free port from 5433 on).")
    var standbyPort: Int?

    @Option(name: .customLong("btrfs-compression"), help: "btrfs compression property of the subvolumes: zstd, lzo, zlib or none.")
    var btrfsCompression: String = "zstd"

    @Flag(name: .customLong("spread-checkpoint"), help: "Let the upstream spread the base backup's checkpoint instead of doing it at once.")
    var spreadCheckpoint = false

    func run() async throws {
        try options.startup()
        guard ["zstd", "lzo", "zlib", "none"].contains(btrfsCompression) else {
            throw PGArchiveError("--btrfs-compression must be zstd, lzo, zlib or none")
        }
        var initializer = ContainerInit(path: try options.containerPath(), upstream: upstream, logger: options.logger)
        initializer.upstreamReplication = upstreamReplication
        initializer.slot = slot
        initializer.pgBindir = pgBindir
        initializer.standbyPort = standbyPort
        initializer.btrfsCompression = btrfsCompression
        initializer.fastCheckpoint = !spreadCheckpoint
        let container = try await initializer.run()
        print(container.layout.root)
    }
}
