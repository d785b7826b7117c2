// The Btrfs module: a Swift wrapper over libbtrfsutil (subvolumes, snapshots, read-only flag,
// subvolume info and listing) plus the `btrfs.compression` property.
//
// Everything here works for an unprivileged user on the kernels pgarchive targets, except
// deleting, which needs the mount option `user_subvol_rm_allowed` (or root). See `Subvolume`.

import CBtrfsUtil
import Glibc

/// Thin helpers around the C calls: every libbtrfsutil function returns an
/// `enum btrfs_util_error` and leaves the cause in errno, which must be read before any other
/// call can overwrite it.
enum LibBtrfsUtil {
    /// Runs `body` (one libbtrfsutil call) and returns its code with errno read right after.
    static func call(_ body: () -> btrfs_util_error) -> (code: btrfs_util_error, errno: Int32) {
        Glibc.errno = 0
        let code = body()
        return (code, Glibc.errno)
    }

    /// Runs a libbtrfsutil call on `path` and throws a `BtrfsError` for anything but success.
    static func check(
        _ operation: BtrfsError.Operation,
        _ path: String,
        _ body: (UnsafePointer<CChar>) -> btrfs_util_error
    ) throws(BtrfsError) {
        let result = path.withCString { cPath in call { body(cPath) } }
        guard result.code == BTRFS_UTIL_OK else {
            throw BtrfsError(operation: operation, path: path, code: BtrfsUtilCode(result.code), errno: result.errno)
        }
    }
}

/// Extended-attribute system calls. Swift's Glibc module does not include `<sys/xattr.h>`, so
/// `getxattr`/`setxattr`/`removexattr` are not visible to Swift; they are looked up in the
/// already-loaded C library by name. (Adding `#include <sys/xattr.h>` to CBtrfsUtil's shim.h
/// would make them directly callable.)
enum ExtendedAttributes {
    private typealias GetFunction = @convention(c) (
        UnsafePointer<CChar>?, UnsafePointer<CChar>?, UnsafeMutableRawPointer?, Int
    ) -> Int
    private typealias SetFunction = @convention(c) (
        UnsafePointer<CChar>?, UnsafePointer<CChar>?, UnsafeRawPointer?, Int, Int32
    ) -> Int32
    private typealias RemoveFunction = @convention(c) (UnsafePointer<CChar>?, UnsafePointer<CChar>?) -> Int32

    /// `dlsym(RTLD_DEFAULT, name)`; these functions are in every glibc, so absence is a broken system.
    private static func function<F>(_ name: String, as type: F.Type) -> F {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), name) else {
            fatalError("glibc has no \(name)")
        }
        return unsafeBitCast(symbol, to: type)
    }

    /// The attribute's value, or nil if it is not set (ENODATA). Other failures return their errno.
    static func get(_ path: String, _ name: String) -> Result<[UInt8]?, Errno> {
        let getxattr = function("getxattr", as: GetFunction.self)
        var capacity = 256
        while true {
            var buffer = [UInt8](repeating: 0, count: capacity)
            Glibc.errno = 0
            let length = buffer.withUnsafeMutableBytes { getxattr(path, name, $0.baseAddress, capacity) }
            let error = Glibc.errno
            if length >= 0 { return .success(Array(buffer.prefix(length))) }
            if error == ENODATA { return .success(nil) }
            if error == ERANGE, capacity < 65536 {
                capacity *= 4
                continue
            }
            return .failure(Errno(error))
        }
    }

    static func set(_ path: String, _ name: String, _ value: [UInt8]) -> Errno? {
        let setxattr = function("setxattr", as: SetFunction.self)
        Glibc.errno = 0
        let result = value.withUnsafeBytes { setxattr(path, name, $0.baseAddress, $0.count, 0) }
        return result == 0 ? nil : Errno(Glibc.errno)
    }

    /// Removes the attribute; an attribute that is not there is not an error.
    static func remove(_ path: String, _ name: String) -> Errno? {
        let removexattr = function("removexattr", as: RemoveFunction.self)
        Glibc.errno = 0
        let result = removexattr(path, name)
        let error = Glibc.errno
        return result == 0 || error == ENODATA ? nil : Errno(error)
    }

    /// An errno value as an `Error`, for `Result`.
    struct Errno: Error {
        let code: Int32
        init(_ code: Int32) { self.code = code }
    }
}
