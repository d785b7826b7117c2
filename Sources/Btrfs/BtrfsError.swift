import CBtrfsUtil
import Glibc

/// A libbtrfsutil result code (`enum btrfs_util_error`), named so that callers and tests
/// can match on it without importing the C module.
public struct BtrfsUtilCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt32

    public init(rawValue: UInt32) {
        self.rawValue = rawValue
    }

    init(_ code: btrfs_util_error) {
        self.rawValue = code.rawValue
    }

    public static let notBtrfs = Self(BTRFS_UTIL_ERROR_NOT_BTRFS)
    public static let notSubvolume = Self(BTRFS_UTIL_ERROR_NOT_SUBVOLUME)
    public static let subvolumeNotFound = Self(BTRFS_UTIL_ERROR_SUBVOLUME_NOT_FOUND)
    public static let openFailed = Self(BTRFS_UTIL_ERROR_OPEN_FAILED)
    public static let statFailed = Self(BTRFS_UTIL_ERROR_STAT_FAILED)
    public static let statfsFailed = Self(BTRFS_UTIL_ERROR_STATFS_FAILED)
    public static let searchFailed = Self(BTRFS_UTIL_ERROR_SEARCH_FAILED)
    public static let getFlagsFailed = Self(BTRFS_UTIL_ERROR_SUBVOL_GETFLAGS_FAILED)
    public static let setFlagsFailed = Self(BTRFS_UTIL_ERROR_SUBVOL_SETFLAGS_FAILED)
    public static let createFailed = Self(BTRFS_UTIL_ERROR_SUBVOL_CREATE_FAILED)
    public static let snapshotFailed = Self(BTRFS_UTIL_ERROR_SNAP_CREATE_FAILED)
    public static let destroyFailed = Self(BTRFS_UTIL_ERROR_SNAP_DESTROY_FAILED)
    public static let syncFailed = Self(BTRFS_UTIL_ERROR_SYNC_FAILED)
    public static let getInfoFailed = Self(BTRFS_UTIL_ERROR_GET_SUBVOL_INFO_FAILED)
    public static let getRootRefFailed = Self(BTRFS_UTIL_ERROR_GET_SUBVOL_ROOTREF_FAILED)
    public static let inoLookupUserFailed = Self(BTRFS_UTIL_ERROR_INO_LOOKUP_USER_FAILED)

    /// libbtrfsutil's own text for the code (`btrfs_util_strerror`), e.g. "Could not destroy subvolume/snapshot".
    public var description: String {
        guard let text = btrfs_util_strerror(btrfs_util_error(rawValue: rawValue)) else {
            return "libbtrfsutil error \(rawValue)"
        }
        return String(cString: text)
    }
}

/// A failed btrfs operation: what was attempted on which path, libbtrfsutil's message, the
/// errno text, and — for the causes people actually hit — what to do about it, all on one line:
///
///     cannot delete subvolume /srv/pg/snapshots/a: Could not destroy subvolume/snapshot (Operation not
///     permitted); mount the file system with -o user_subvol_rm_allowed (or run the delete as root)
public struct BtrfsError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The btrfs operation that failed.
    public enum Operation: String, Sendable, CustomStringConvertible {
        case checkFileSystem = "check the file system of"
        case checkSubvolume = "inspect"
        case create = "create subvolume"
        case snapshot = "snapshot"
        case delete = "delete subvolume"
        case getReadOnly = "read the read-only flag of"
        case setReadOnly = "change the read-only flag of"
        case info = "read subvolume information of"
        case list = "list subvolumes under"
        case sync = "sync the file system of"
        case getCompression = "read the compression property of"
        case setCompression = "set the compression property of"

        public var description: String { rawValue }
    }

    /// The cause, classified from the libbtrfsutil code and errno, for callers that react to it.
    public enum Kind: Sendable, Equatable {
        /// The path is not on btrfs (libbtrfsutil's statfs check, or ENOTTY/EOPNOTSUPP from a btrfs ioctl/xattr).
        case notBtrfs
        /// A plain directory where a subvolume was expected.
        case notSubvolume
        /// EPERM or EACCES.
        case permissionDenied
        /// EROFS: a read-only snapshot, or a file system mounted read-only.
        case readOnly
        /// ENOTEMPTY on delete: a nested subvolume is inside.
        case nestedSubvolume
        /// EEXIST: the destination is already there.
        case exists
        /// ENOENT or libbtrfsutil's "subvolume not found".
        case notFound
        /// EXDEV: source and destination on different file systems.
        case crossDevice
        /// ENOSPC or EDQUOT.
        case noSpace
        /// EBUSY: mounted elsewhere or the default subvolume.
        case busy
        /// EINVAL when setting the compression property.
        case invalidCompression
        /// Anything else; the message still carries libbtrfsutil's text and errno.
        case other
    }

    public let operation: Operation
    /// The path operated on; for a snapshot, its source.
    public let path: String
    /// A snapshot's destination; nil for other operations.
    public let destination: String?
    /// libbtrfsutil's result code, or nil when the failing call was a plain system call (xattr).
    public let code: BtrfsUtilCode?
    /// errno as read right after the failing call (0 if it was not set).
    public let errno: Int32
    /// The path the explanation is about: usually `path`; for a snapshot, whichever of source
    /// and destination is at fault.
    public let subject: String
    public let kind: Kind

    /// - Parameters:
    ///   - subject: the path the explanation names; by default `path`, or for a snapshot the
    ///     destination when the destination is what is wrong (exists, missing parent, not btrfs, full).
    public init(
        operation: Operation,
        path: String,
        destination: String? = nil,
        code: BtrfsUtilCode?,
        errno: Int32,
        subject: String? = nil
    ) {
        let kind = Self.classify(operation: operation, code: code, errno: errno)
        self.operation = operation
        self.path = path
        self.destination = destination
        self.code = code
        self.errno = errno
        self.kind = kind
        if let subject {
            self.subject = subject
        } else if let destination, [.exists, .notFound, .notBtrfs, .noSpace].contains(kind) {
            self.subject = destination
        } else {
            self.subject = path
        }
    }

    static func classify(operation: Operation, code: BtrfsUtilCode?, errno: Int32) -> Kind {
        if code == .notBtrfs || errno == ENOTTY { return .notBtrfs }
        if code == .notSubvolume { return .notSubvolume }
        if code == .subvolumeNotFound { return .notFound }
        switch errno {
        case EPERM, EACCES: return .permissionDenied
        case EROFS: return .readOnly
        case ENOTEMPTY: return operation == .delete ? .nestedSubvolume : .other
        case EEXIST: return .exists
        case ENOENT: return .notFound
        case EXDEV: return .crossDevice
        case ENOSPC, EDQUOT: return .noSpace
        case EBUSY: return .busy
        case EOPNOTSUPP where operation == .setCompression || operation == .getCompression: return .notBtrfs
        case EINVAL where operation == .setCompression: return .invalidCompression
        default: return .other
        }
    }

    /// What to do about it, or nil when there is nothing better to say than the cause.
    public var explanation: String? {
        switch kind {
        case .notBtrfs:
            return "\(subject) is not on a btrfs file system; containers must live on btrfs"
        case .notSubvolume:
            return "\(subject) is a plain directory, not a btrfs subvolume"
        case .permissionDenied:
            if let code, [.openFailed, .statFailed, .statfsFailed].contains(code) {
                return "the user running pgarchive cannot reach \(subject); check the permissions of the directories above it"
            }
            switch operation {
            case .delete:
                return "mount the file system with -o user_subvol_rm_allowed (or run the delete as root)"
            case .setReadOnly:
                return "only the owner of \(subject) (or root) may change its read-only flag"
            case .snapshot:
                return "only the owner of \(path) (or root) may snapshot it, into a directory they can write"
            case .create:
                return "the user running pgarchive needs write permission on the directory that holds \(subject)"
            case .setCompression:
                return "only the owner of \(subject) (or root) may set its compression property"
            default:
                return "the user running pgarchive may not access \(subject)"
            }
        case .readOnly:
            return "\(subject) is read-only (a read-only snapshot, or the file system is mounted read-only); "
                + "make a writable snapshot of it to write"
        case .nestedSubvolume:
            return "\(subject) contains a nested subvolume; delete that one first "
                + "(snapshots do not include nested subvolumes)"
        case .exists:
            return "\(subject) already exists; choose another name or delete it first"
        case .notFound:
            return "\(subject) (or its parent directory) does not exist"
        case .crossDevice:
            return "a snapshot must be on the same btrfs file system as its source"
        case .noSpace:
            return "the btrfs file system is full; expire snapshots or grow it (`btrfs filesystem usage` shows where the space went)"
        case .busy:
            return "\(subject) is in use (mounted elsewhere, or the file system's default subvolume)"
        case .invalidCompression:
            return "the kernel rejected the value; use zstd, lzo, zlib or none"
        case .other:
            return nil
        }
    }

    /// libbtrfsutil's message and the errno text, e.g. "Could not destroy subvolume/snapshot (Operation not permitted)".
    public var cause: String {
        let errnoText = errno == 0 ? nil : String(cString: strerror(errno))
        switch (code, errnoText) {
        case let (code?, errnoText?): return "\(code) (\(errnoText))"
        case let (code?, nil): return code.description
        case let (nil, errnoText?): return errnoText
        case (nil, nil): return "unknown error"
        }
    }

    public var description: String {
        var target = path
        if let destination { target += " to \(destination)" }
        var line = "cannot \(operation) \(target): \(cause)"
        if let explanation { line += "; \(explanation)" }
        return line
    }
}
