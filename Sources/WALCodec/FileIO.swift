import Foundation

// MARK: Files

extension WALCompression {
    package static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws(WALCompressionError) {
        let error = bytes.withUnsafeBytes { writeLoop(fd, $0) }
        if error != 0 { throw .failed("cannot write \(path): \(String(cString: strerror(error)))") }
    }

    package static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws(WALCompressionError) {
        let error = writeLoop(fd, bytes)
        if error != 0 { throw .failed("cannot write \(path): \(String(cString: strerror(error)))") }
    }

    /// Writes all of `bytes`; 0 or the errno of the failed write.
    private static func writeLoop(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Int32 {
        var offset = 0
        while offset < bytes.count {
            let n = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                return errno
            }
            offset += n
        }
        return 0
    }

    /// Reads exactly `size` bytes from `fd` (from offset 0).
    package static func readExactly(_ fd: Int32, size: Int, path: String) throws(WALCompressionError) -> [UInt8] {
        var failure: WALCompressionError?
        let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
            var offset = 0
            while offset < size {
                let n = pread(fd, buffer.baseAddress! + offset, size - offset, off_t(offset))
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = .failed("cannot read \(path): \(String(cString: strerror(errno)))")
                    break
                }
                if n == 0 {
                    failure = .failed("\(path) shrank while it was read (\(offset) of \(size) bytes)")
                    break
                }
                offset += n
            }
            count = failure == nil ? size : 0
        }
        if let failure { throw failure }
        return bytes
    }

    package static func fsyncDirectory(_ path: String) throws(WALCompressionError) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw .failed("cannot open directory \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw .failed("cannot fsync directory \(path): \(String(cString: strerror(errno)))") }
    }
}
