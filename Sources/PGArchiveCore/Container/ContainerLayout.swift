import Foundation

/// Where everything of one container lives (docs/ARCHITECTURE.md, The container). Pure path arithmetic.
public struct ContainerLayout: Sendable, Equatable {
    /// Absolute, standardised path of the container directory.
    public let root: String

    public init(root: String) {
        let absolute = root.hasPrefix("/") ? root : FileManager.default.currentDirectoryPath + "/" + root
        self.root = (absolute as NSString).standardizingPath
    }

    public var name: String { (root as NSString).lastPathComponent }
    public var configFile: String { root + "/pgarchive.conf" }
    public var walArchive: String { root + "/wal_archive" }
    public var standby: String { root + "/standby" }
    public var snapshots: String { root + "/snapshots" }
    public var clones: String { root + "/clones" }
    public var dumps: String { root + "/dumps" }
    public var logs: String { root + "/logs" }
    public var run: String { root + "/run" }

    /// The standby's unix socket directory (it listens on no TCP address).
    public var standbySocketDirectory: String { run }
    public var receiverPidFile: String { run + "/pg_receivewal.pid" }
    public var receiverLog: String { logs + "/pg_receivewal.log" }
    public var standbyLog: String { logs + "/standby.log" }

    public func snapshot(_ name: String) -> String { snapshots + "/" + name }
    public func clone(_ name: String) -> String { clones + "/" + name }

    /// Subvolumes (each its own btrfs subvolume) and plain directories of a new container.
    public var subvolumes: [String] { [walArchive, standby, dumps] }
    public var plainDirectories: [String] { [snapshots, clones, logs, run] }
}

/// Names of snapshots, clones, restore points: a single path component of safe characters.
public enum ObjectName {
    /// Refuses empty names, `/`, `..`, leading dots and control characters, so a name can
    /// never escape its directory. Used before anything is created or deleted.
    public static func validate(_ name: String, kind: String) throws(PGArchiveError) {
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-_.:+"))
        if name.isEmpty { throw PGArchiveError("\(kind) name must not be empty") }
        if name.contains("/") { throw PGArchiveError("invalid \(kind) name '\(PGArchiveError.echo(name))': it must not contain '/'") }
        if name.hasPrefix(".") { throw PGArchiveError("invalid \(kind) name '\(PGArchiveError.echo(name))': it must not start with '.' (and '..' is never allowed)") }
        if name.count > 200 { throw PGArchiveError("invalid \(kind) name: longer than 200 characters") }
        if !name.unicodeScalars.allSatisfy({ allowed.contains($0) && $0.isASCII }) {
            throw PGArchiveError("invalid \(kind) name '\(PGArchiveError.echo(name))': use letters, digits and - _ . : + only")
        }
    }
}
