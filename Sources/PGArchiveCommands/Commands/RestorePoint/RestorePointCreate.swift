import ArgumentParser
import Foundation
import PGArchiveCore

struct RestorePointCreateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create", abstract: "Create a restore point on the upstream (pg_create_restore_point) and record it.",
        discussion: "Examples:\n  pgarchive restorepoint create before_release_42")
    @OptionGroup var options: ContainerOptions
    @Argument(help: "Name of the restore point.") var name: String

    func run() async throws {
        let point = try await options.run(.restorePointCreate, detail: name,
                                           beforeLock: { _ in try Container.validateRestorePointName(name) }) { try $0.createRestorePoint(name) }
        print("\(point.name) \(point.lsn) \(ISO8601.utc(point.createdAt))")
    }
}
