import CBtrfsUtil
import Foundation
import Glibc

/// What btrfs records about one subvolume (`btrfs subvolume show`).
public struct SubvolumeInfo: Sendable, Equatable {
    /// The subvolume ID, unique within the file system (the top-level subvolume is 5).
    public let id: UInt64
    /// The ID of the subvolume that contains this one; 0 for the top level or a deleted one.
    public let parentID: UInt64
    public let uuid: UUID
    /// For a snapshot, the UUID of the subvolume it was taken from; nil for a plain subvolume.
    public let parentUUID: UUID?
    /// For a subvolume made by `btrfs receive`, the UUID it was sent from; nil otherwise.
    public let receivedUUID: UUID?
    /// The transaction ID of the subvolume's root; it grows as the subvolume is written.
    public let generation: UInt64
    /// When the subvolume (or snapshot) was created.
    public let otime: Date
    public let isReadOnly: Bool

    public init(
        id: UInt64, parentID: UInt64, uuid: UUID, parentUUID: UUID?, receivedUUID: UUID?,
        generation: UInt64, otime: Date, isReadOnly: Bool
    ) {
        self.id = id
        self.parentID = parentID
        self.uuid = uuid
        self.parentUUID = parentUUID
        self.receivedUUID = receivedUUID
        self.generation = generation
        self.otime = otime
        self.isReadOnly = isReadOnly
    }

    init(_ raw: btrfs_util_subvolume_info) {
        /// BTRFS_ROOT_SUBVOL_RDONLY, the read-only bit of the on-disk root item flags.
        let readOnlyFlag: UInt64 = 1 << 0
        self.init(
            id: raw.id,
            parentID: raw.parent_id,
            uuid: UUID(uuid: raw.uuid),
            parentUUID: Self.uuidUnlessZero(raw.parent_uuid),
            receivedUUID: Self.uuidUnlessZero(raw.received_uuid),
            generation: raw.generation,
            otime: Date(timeIntervalSince1970: TimeInterval(raw.otime.tv_sec) + TimeInterval(raw.otime.tv_nsec) / 1e9),
            isReadOnly: raw.flags & readOnlyFlag != 0
        )
    }

    /// btrfs writes all zeroes for "no such UUID".
    private static func uuidUnlessZero(_ bytes: uuid_t) -> UUID? {
        withUnsafeBytes(of: bytes) { $0.allSatisfy { $0 == 0 } } ? nil : UUID(uuid: bytes)
    }
}

/// A subvolume found by `Subvolume.list(under:)`.
public struct SubvolumeListEntry: Sendable, Hashable {
    /// The path relative to the listed directory, e.g. `snapshots/2026-11-20T10:00:00Z`.
    public let path: String
    public let id: UInt64

    public init(path: String, id: UInt64) {
        self.path = path
        self.id = id
    }
}

/// btrfs subvolumes and snapshots, through libbtrfsutil.
///
/// Works unprivileged (as the `postgres` user): creating a subvolume, snapshotting a subvolume
/// the user owns (read-only or writable, including a writable snapshot of a read-only one),
/// reading and changing the read-only flag of one's own subvolume, info and listing. Deleting
/// needs the file system mounted with `user_subvol_rm_allowed`, or root.
///
/// Snapshots are not recursive: a subvolume nested inside the source shows up in the snapshot
/// as an empty directory, so everything that must be captured together lives in one subvolume.
///
/// Every failure is a `BtrfsError` naming the operation, the path and the cause.
public enum Subvolume {
    /// Whether `path` (which must exist) is on a btrfs file system: `statfs(2)` reports
    /// `BTRFS_SUPER_MAGIC` (0x9123683E). False for a missing path. Check a directory with this
    /// before creating anything in it.
    public static func isOnBtrfs(_ path: String) -> Bool {
        // btrfs_util_is_subvolume starts with exactly that statfs check (Swift's Glibc module
        // has no <sys/vfs.h>): "not a subvolume" still means "on btrfs".
        let code = path.withCString { btrfs_util_is_subvolume($0) }
        return code == BTRFS_UTIL_OK || code == BTRFS_UTIL_ERROR_NOT_SUBVOLUME
    }

    /// Like `isOnBtrfs`, but throws the explanatory error: "<path> is not on a btrfs file
    /// system; containers must live on btrfs", or "does not exist".
    public static func requireBtrfs(_ path: String) throws(BtrfsError) {
        let result = path.withCString { cPath in LibBtrfsUtil.call { btrfs_util_is_subvolume(cPath) } }
        if result.code == BTRFS_UTIL_OK || result.code == BTRFS_UTIL_ERROR_NOT_SUBVOLUME { return }
        throw BtrfsError(operation: .checkFileSystem, path: path, code: BtrfsUtilCode(result.code), errno: result.errno)
    }

    /// True for a subvolume or snapshot, false for a plain directory or file on btrfs.
    /// Throws for a path that is not on btrfs (or does not exist).
    public static func isSubvolume(_ path: String) throws(BtrfsError) -> Bool {
        try isSubvolume(path, for: .checkSubvolume)
    }

    /// Creates an empty subvolume at `path`; its parent directory must exist on btrfs.
    public static func create(_ path: String) throws(BtrfsError) {
        try LibBtrfsUtil.check(.create, path) { btrfs_util_create_subvolume($0, 0, nil, nil) }
    }

    /// Snapshots the subvolume `source` to `destination` (which must not exist; its parent must,
    /// on the same file system). Takes a fraction of a second whatever the size: the snapshot
    /// shares all data with the source until either is written.
    ///
    /// - Parameter readOnly: a read-only snapshot cannot be changed by anyone (writes fail with
    ///   EROFS); make a writable snapshot of it to work on a copy.
    public static func snapshot(source: String, destination: String, readOnly: Bool) throws(BtrfsError) {
        // The kernel would snapshot the enclosing subvolume of a plain directory: refuse instead.
        let sourceCheck = source.withCString { cPath in LibBtrfsUtil.call { btrfs_util_is_subvolume(cPath) } }
        guard sourceCheck.code == BTRFS_UTIL_OK else {
            throw BtrfsError(
                operation: .snapshot, path: source, destination: destination,
                code: BtrfsUtilCode(sourceCheck.code), errno: sourceCheck.errno, subject: source
            )
        }
        let flags = readOnly ? Int32(BTRFS_UTIL_CREATE_SNAPSHOT_READ_ONLY) : 0
        let result = source.withCString { cSource in
            destination.withCString { cDestination in
                LibBtrfsUtil.call { btrfs_util_create_snapshot(cSource, cDestination, flags, nil, nil) }
            }
        }
        guard result.code == BTRFS_UTIL_OK else {
            throw BtrfsError(
                operation: .snapshot, path: source, destination: destination,
                code: BtrfsUtilCode(result.code), errno: result.errno
            )
        }
    }

    /// Deletes the subvolume at `path`. A read-only snapshot is made writable first (deleting
    /// it as is fails with EROFS) and made read-only again if the delete then fails.
    ///
    /// Not recursive: a subvolume with a nested subvolume inside fails with ENOTEMPTY. Unprivileged
    /// deletion needs the mount option `user_subvol_rm_allowed`. The space is given back in the
    /// background after the call returns (see `sync(_:)`).
    public static func delete(_ path: String) throws(BtrfsError) {
        guard try isSubvolume(path, for: .delete) else {
            throw BtrfsError(operation: .delete, path: path, code: .notSubvolume, errno: EINVAL)
        }
        let wasReadOnly = try isReadOnly(path)
        if wasReadOnly {
            try setReadOnly(path, false)
        }
        do {
            try LibBtrfsUtil.check(.delete, path) { btrfs_util_delete_subvolume($0, 0) }
        } catch {
            if wasReadOnly {
                try? setReadOnly(path, true)
            }
            throw error
        }
    }

    /// Whether the subvolume is read-only. For a plain directory this is the flag of the
    /// subvolume that contains it.
    public static func isReadOnly(_ path: String) throws(BtrfsError) -> Bool {
        var readOnly = false
        try LibBtrfsUtil.check(.getReadOnly, path) { btrfs_util_get_subvolume_read_only($0, &readOnly) }
        return readOnly
    }

    /// Sets or clears the read-only flag of the subvolume at `path` (owner or root only).
    public static func setReadOnly(_ path: String, _ readOnly: Bool) throws(BtrfsError) {
        guard try isSubvolume(path, for: .setReadOnly) else {
            throw BtrfsError(operation: .setReadOnly, path: path, code: .notSubvolume, errno: EINVAL)
        }
        try LibBtrfsUtil.check(.setReadOnly, path) { btrfs_util_set_subvolume_read_only($0, readOnly) }
    }

    /// ID, UUIDs, generation, creation time and read-only flag of the subvolume at `path`.
    public static func info(_ path: String) throws(BtrfsError) -> SubvolumeInfo {
        var raw = btrfs_util_subvolume_info()
        try LibBtrfsUtil.check(.info, path) { btrfs_util_subvolume_info($0, 0, &raw) }
        return SubvolumeInfo(raw)
    }

    /// Every subvolume below `directory` (not `directory` itself), nested ones included, with
    /// paths relative to `directory`, sorted by path.
    ///
    /// libbtrfsutil's iterator with `top = 0` works unprivileged, but only from a subvolume (it
    /// lists what is beneath that subvolume's root, skipping what the user cannot access). So if
    /// `directory` is a subvolume it is iterated directly; if it is a plain directory, its
    /// plain subdirectories are walked (only directory entries, never into subvolumes), and
    /// each subvolume found is listed together with what the iterator finds beneath it.
    /// Unprivileged, subvolumes below directories this user cannot read are left out, as the
    /// iterator leaves them out; as root everything is listed.
    public static func list(under directory: String) throws(BtrfsError) -> [SubvolumeListEntry] {
        var entries: [SubvolumeListEntry] = []
        if try isSubvolume(directory, for: .list) {
            entries = try SubvolumeIterator(directory).all(prefix: "")
        } else {
            try scan(directory, relativePath: "", into: &entries)
        }
        return entries.sorted { $0.path < $1.path }
    }

    /// Commits the current btrfs transaction of the file system holding `path`, so that what
    /// was written (and space freed by deletes so far) is on disk. Deleted subvolumes are
    /// cleaned up in the background afterwards; waiting for that cleanup
    /// (`btrfs subvolume sync`) needs root, so it is not offered here.
    public static func sync(_ path: String) throws(BtrfsError) {
        try LibBtrfsUtil.check(.sync, path) { btrfs_util_sync($0) }
    }

    // MARK: - Helpers

    private static func isSubvolume(_ path: String, for operation: BtrfsError.Operation) throws(BtrfsError) -> Bool {
        let result = path.withCString { cPath in LibBtrfsUtil.call { btrfs_util_is_subvolume(cPath) } }
        if result.code == BTRFS_UTIL_OK { return true }
        if result.code == BTRFS_UTIL_ERROR_NOT_SUBVOLUME { return false }
        throw BtrfsError(operation: operation, path: path, code: BtrfsUtilCode(result.code), errno: result.errno)
    }

    /// Walks the plain directories under `directory` (`relativePath` from the listed one).
    private static func scan(
        _ directory: String, relativePath: String, into entries: inout [SubvolumeListEntry]
    ) throws(BtrfsError) {
        let names: [String]
        do {
            names = try subdirectoryNames(directory)
        } catch where !relativePath.isEmpty && [EACCES, EPERM].contains(error.errno) {
            return  // like the unprivileged iterator, skip what this user cannot read
        }
        for name in names {
            let path = directory.hasSuffix("/") ? directory + name : directory + "/" + name
            let relative = relativePath + name
            let check = path.withCString { cPath in LibBtrfsUtil.call { btrfs_util_is_subvolume(cPath) } }
            if check.code == BTRFS_UTIL_OK {
                var id: UInt64 = 0
                try LibBtrfsUtil.check(.list, path) { btrfs_util_subvolume_id($0, &id) }
                entries.append(SubvolumeListEntry(path: relative, id: id))
                entries += try SubvolumeIterator(path).all(prefix: relative + "/")
            } else if check.code == BTRFS_UTIL_ERROR_NOT_SUBVOLUME {
                try scan(path, relativePath: relative + "/", into: &entries)
            } else if check.code == BTRFS_UTIL_ERROR_NOT_BTRFS {
                continue  // another file system mounted here: nothing of ours below it
            } else {
                throw BtrfsError(operation: .list, path: path, code: BtrfsUtilCode(check.code), errno: check.errno)
            }
        }
    }

    /// Names of the directories (not symlinks) directly in `directory`.
    private static func subdirectoryNames(_ directory: String) throws(BtrfsError) -> [String] {
        Glibc.errno = 0
        guard let stream = opendir(directory) else {
            throw BtrfsError(operation: .list, path: directory, code: nil, errno: Glibc.errno)
        }
        defer { closedir(stream) }
        var names: [String] = []
        while true {
            Glibc.errno = 0
            guard let entry = readdir(stream) else {
                if Glibc.errno != 0 {
                    throw BtrfsError(operation: .list, path: directory, code: nil, errno: Glibc.errno)
                }
                return names
            }
            let name = withUnsafeBytes(of: entry.pointee.d_name) { bytes in
                String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name == "." || name == ".." { continue }
            var isDirectory = entry.pointee.d_type == UInt8(DT_DIR)
            if entry.pointee.d_type == UInt8(DT_UNKNOWN) {
                var status = stat()
                let path = directory + "/" + name
                isDirectory = lstat(path, &status) == 0 && status.st_mode & S_IFMT == S_IFDIR
            }
            if isDirectory { names.append(name) }
        }
    }
}

/// Owns a libbtrfsutil subvolume iterator (and the directory it opened) for its lifetime.
private final class SubvolumeIterator {
    private let path: String
    private let iterator: OpaquePointer

    /// Iterates below the subvolume at `path` (`top = 0`: the subvolume `path` is the root of).
    init(_ path: String) throws(BtrfsError) {
        var iterator: OpaquePointer?
        try LibBtrfsUtil.check(.list, path) { btrfs_util_create_subvolume_iterator($0, 0, 0, &iterator) }
        guard let iterator else {
            throw BtrfsError(operation: .list, path: path, code: .openFailed, errno: 0)
        }
        self.path = path
        self.iterator = iterator
    }

    deinit {
        btrfs_util_destroy_subvolume_iterator(iterator)
    }

    /// All remaining subvolumes, pre-order, with `prefix` in front of each relative path.
    func all(prefix: String) throws(BtrfsError) -> [SubvolumeListEntry] {
        var entries: [SubvolumeListEntry] = []
        while true {
            var cPath: UnsafeMutablePointer<CChar>?
            var id: UInt64 = 0
            let result = LibBtrfsUtil.call { btrfs_util_subvolume_iterator_next(iterator, &cPath, &id) }
            if result.code == BTRFS_UTIL_ERROR_STOP_ITERATION { return entries }
            guard result.code == BTRFS_UTIL_OK, let cPath else {
                throw BtrfsError(operation: .list, path: path, code: BtrfsUtilCode(result.code), errno: result.errno)
            }
            entries.append(SubvolumeListEntry(path: prefix + String(cString: cPath), id: id))
            free(cPath)
        }
    }
}
