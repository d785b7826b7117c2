import Foundation

/// Writes a file atomically: temp file in the same directory, fsync, rename, fsync the directory.
public enum AtomicFile {
    public static func write(_ text: String, to path: String, mode: mode_t = 0o600) throws(PGArchiveError) {
        try write(Data(text.utf8), to: path, mode: mode)
    }

    public static func write(_ data: Data, to path: String, mode: mode_t = 0o600) throws(PGArchiveError) {
        let directory = (path as NSString).deletingLastPathComponent
        let temp = directory + "/.\((path as NSString).lastPathComponent).tmp.\(getpid())"
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard fd >= 0 else { throw PGArchiveError("cannot write \(temp): \(String(cString: strerror(errno)))") }
        var ok = data.withUnsafeBytes { buffer -> Bool in
            var offset = 0
            while offset < buffer.count {
                let n = Glibc.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if n < 0 { if errno == EINTR { continue }; return false }
                offset += n
            }
            return true
        }
        ok = ok && fsync(fd) == 0
        let saved = errno
        close(fd)
        guard ok else {
            unlink(temp)
            throw PGArchiveError("cannot write \(path): \(String(cString: strerror(saved)))")
        }
        guard rename(temp, path) == 0 else {
            let message = String(cString: strerror(errno))
            unlink(temp)
            throw PGArchiveError("cannot rename \(temp) to \(path): \(message)")
        }
        let dfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 { fsync(dfd); close(dfd) }
    }
}
