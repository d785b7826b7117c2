import ArgumentParser
import Foundation
import PGArchiveCore

struct RestorePointCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restorepoint",
        abstract: "Named restore points on the upstream that clones can recover to.",
        discussion: "Examples:\n  pgarchive restorepoint create before_release_42\n  pgarchive restorepoint list",
        subcommands: [RestorePointCreateCommand.self, RestorePointListCommand.self]
    )
}

struct RestorePointCreateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create", abstract: "Create a restore point on the upstream (pg_create_restore_point) and record it.",
        discussion: "Examples:\n  pgarchive restorepoint create before_release_42")
    @OptionGroup var options: ContainerOptions
    @Argument(help: "Name of the restore point.") var name: String

    func run() async throws {
        let container = try options.open()
        let point = try container.createRestorePoint(name)
        print("\(point.name) \(point.lsn) \(ISO8601.utc(point.createdAt))")
    }
}

struct RestorePointListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the restore points made through pgarchive.",
        discussion: "Examples:\n  pgarchive restorepoint list")
    @OptionGroup var options: ContainerOptions
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        let container = try options.open()
        let points = try container.restorePoints.list()
        if json { print(String(decoding: try JSONOutput.encode(points), as: UTF8.self)); return }
        for p in points { print("\(p.name.padded(30)) \(p.lsn.description.padded(15)) \(ISO8601.utc(p.createdAt))") }
    }
}
