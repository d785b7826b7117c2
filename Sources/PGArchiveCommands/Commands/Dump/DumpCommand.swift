import ArgumentParser
import Foundation
import PGArchiveCore

struct DumpCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dump",
        abstract: "Logical dumps of every database, restorable per table.",
        discussion: "Runs live in dumps/<database>/<UTC time>/ as pg_dump directories (plus globals.sql). By default they are taken from a temporary clone of the newest snapshot, so the upstream sees no load. Files unchanged since the previous run share storage on btrfs.\n\nExamples:\n  pgarchive dump create\n  pgarchive dump restore shop --into 'dbname=shop_restored' --table orders",
        subcommands: [DumpCreateCommand.self, DumpListCommand.self, DumpExtractCommand.self,
                      DumpRestoreCommand.self, DumpExpireCommand.self]
    )
}

/// `--time` of extract and restore: the newest run at or before it.
struct DumpTimeOption: ParsableArguments {
    @Option(help: ArgumentHelp("Use the newest run at or before this time (ISO-8601, without zone: local time; default: the newest run).", valueName: "time"))
    var time: String?

    func date() throws -> Date? { try time.map { try TargetTimeParser.parse($0) } }
}
