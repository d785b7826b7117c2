import Glibc

extension Subvolume {
    /// The extended attribute behind `btrfs property get/set PATH compression`.
    public static let compressionAttribute = "btrfs.compression"

    /// Sets the btrfs compression property of a directory (a subvolume or any directory on btrfs),
    /// exactly as `btrfs property set PATH compression zstd` does: files created in it afterwards
    /// inherit the property and are compressed; existing files are not rewritten.
    ///
    /// - Parameter algorithm: "zstd", "lzo" or "zlib"; "none" to never compress, even under a
    ///   `compress` mount option; nil (or "") to remove the property and follow the mount options.
    public static func setCompression(_ path: String, algorithm: String?) throws(BtrfsError) {
        let failure: ExtendedAttributes.Errno?
        if let algorithm, !algorithm.isEmpty {
            failure = ExtendedAttributes.set(path, compressionAttribute, Array(algorithm.utf8))
        } else {
            failure = ExtendedAttributes.remove(path, compressionAttribute)
        }
        if let failure {
            throw BtrfsError(operation: .setCompression, path: path, code: nil, errno: failure.code)
        }
    }

    /// The compression property of `path` ("zstd", "lzo", "zlib", "none"), or nil if none is set.
    public static func compression(_ path: String) throws(BtrfsError) -> String? {
        switch ExtendedAttributes.get(path, compressionAttribute) {
        case .success(let bytes?) where !bytes.isEmpty:
            return String(decoding: bytes, as: UTF8.self)
        case .success:
            return nil
        case .failure(let failure):
            throw BtrfsError(operation: .getCompression, path: path, code: nil, errno: failure.code)
        }
    }
}
