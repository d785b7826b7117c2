import Foundation
import Postgres

/// `restore --to DIR --tablespace-map NAME=DIR2`: where each tablespace of a restored data
/// directory goes. Unmapped tablespaces stay inside DIR (`DIR/pgarchive_tablespaces/OID`,
/// reached through the relative `pg_tblspc/OID` link the snapshot carries).
public struct TablespaceRestoreMap: Sendable, Equatable {
    public var directories: [String: String]

    /// No --tablespace-map: every tablespace stays inside the restored directory.
    public static let none = TablespaceRestoreMap(directories: [:])
    init(directories: [String: String]) { self.directories = directories }

    /// Parses `NAME=DIR` arguments: DIR absolute, each name and directory once.
    public init(arguments: [String]) throws(PGArchiveError) {
        var directories: [String: String] = [:]
        for argument in arguments {
            guard let equals = argument.firstIndex(of: "="), equals != argument.startIndex else {
                throw PGArchiveError("invalid --tablespace-map '\(PGArchiveError.echo(argument))': use NAME=DIR, e.g. --tablespace-map fast=/srv/fast/restore")
            }
            let name = String(argument[..<equals])
            let directory = (String(argument[argument.index(after: equals)...]) as NSString).standardizingPath
            guard directory.hasPrefix("/") else {
                throw PGArchiveError("invalid --tablespace-map '\(PGArchiveError.echo(argument))': the directory must be an absolute path")
            }
            guard directories[name] == nil else { throw PGArchiveError("--tablespace-map names tablespace '\(PGArchiveError.echo(name))' twice") }
            guard !directories.values.contains(directory) else { throw PGArchiveError("--tablespace-map gives \(directory) to two tablespaces") }
            directories[name] = directory
        }
        self.directories = directories
    }

    /// Checks the map against the snapshot's tablespaces and the file system before anything
    /// is written: every name exists, every directory is new (its parent exists) or empty.
    public func validate(snapshotDirectory: String, snapshotName: String) throws(PGArchiveError) -> [(TablespaceRecord, String)] {
        let available = Tablespaces.readMap(dataDirectory: snapshotDirectory)
        let present = Set(Tablespaces.entries(dataDirectory: snapshotDirectory).map(\.oid))
        var result: [(TablespaceRecord, String)] = []
        let fm = FileManager.default
        for (name, directory) in directories.sorted(by: { $0.key < $1.key }) {
            guard let record = available.first(where: { $0.name == name }), present.contains(String(record.oid)) else {
                let names = available.filter { present.contains(String($0.oid)) }.map(\.name)
                throw PGArchiveError("snapshot \(snapshotName) has no tablespace '\(PGArchiveError.echo(name))'; " + (names.isEmpty ? "it has none" : "it has: " + names.joined(separator: ", ")))
            }
            if fm.fileExists(atPath: directory) {
                guard ((try? fm.contentsOfDirectory(atPath: directory)) ?? ["?"]).isEmpty else {
                    throw PGArchiveError("tablespace directory \(directory) (for '\(name)') is not empty; --tablespace-map needs a new or empty directory")
                }
            } else {
                let parent = (directory as NSString).deletingLastPathComponent
                guard fm.fileExists(atPath: parent) else {
                    throw PGArchiveError("parent directory \(parent) of tablespace directory \(directory) (for '\(name)') does not exist")
                }
            }
            result.append((record, directory))
        }
        return result
    }

    /// Moves each mapped tablespace of the restored `dataDirectory` to its directory (copied
    /// from the snapshot) and points `pg_tblspc/OID` at it with an absolute link.
    static func apply(_ mapped: [(TablespaceRecord, String)], snapshotDirectory: String, dataDirectory: String) async throws {
        for (record, directory) in mapped {
            let oid = String(record.oid)
            if !FileManager.default.fileExists(atPath: directory) {
                guard mkdir(directory, 0o700) == 0 else { throw PGArchiveError("cannot create \(directory): \(String(cString: strerror(errno)))") }
            }
            chmod(directory, 0o700)
            try await ToolCommand(executable: "cp", arguments: ["-a", "--reflink=auto", "--",
                                                               snapshotDirectory + "/" + Tablespaces.directoryName + "/" + oid + "/.", directory]).runChecked()
            try FileManager.default.removeItem(atPath: dataDirectory + "/" + Tablespaces.directoryName + "/" + oid)
            let link = dataDirectory + "/pg_tblspc/" + oid
            unlink(link)
            guard symlink(directory, link) == 0 else { throw PGArchiveError("cannot link \(link) to \(directory): \(String(cString: strerror(errno)))") }
        }
    }
}
