import Foundation
import Logging
import Postgres

/// Sizes as btrfs sees them.
public enum DumpSpace {
    /// Apparent size and number of regular files under `path`.
    public static func apparentSize(_ path: String) -> (bytes: UInt64, files: Int) {
        var bytes: UInt64 = 0
        var files = 0
        let enumerator = FileManager.default.enumerator(atPath: path)
        while let relative = enumerator?.nextObject() as? String {
            var info = stat()
            if lstat(path + "/" + relative, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG {
                bytes += UInt64(info.st_size)
                files += 1
            }
        }
        return (bytes, files)
    }

    /// `btrfs filesystem du -s --raw`: bytes only this directory's files use (nil when not on
    /// btrfs). Extents shared with another run count for neither: a run identical to the
    /// previous one shows 0, which is the figure that matters here ("what does this run cost").
    public static func exclusive(_ path: String) async -> UInt64? {
        guard let output = try? await ToolCommand(executable: "btrfs", arguments: ["filesystem", "du", "-s", "--raw", path]).run(),
              output.succeeded else { return nil }
        for line in output.standardOutput.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if fields.count >= 3, let exclusive = UInt64(fields[1]) { return exclusive }
        }
        return nil
    }

    /// Replaces each file in `directory` whose content equals a file of `previous` by a
    /// reflink (FICLONE) of that file, so unchanged tables share their extents with the
    /// previous run on btrfs. Candidates are matched by size (the same name first: pg_dump
    /// names table files by dump id, which is stable while the schema is) and then compared
    /// byte by byte. The clone goes into a temporary file that is renamed over the new one,
    /// so a crash leaves either file, both complete. Returns how many files are shared.
    public static func shareUnchangedFiles(in directory: String, previous: String, skip: Set<String> = []) throws(PGArchiveError) -> Int {
        let fm = FileManager.default
        var bySize: [UInt64: [String]] = [:]
        for name in (try? fm.contentsOfDirectory(atPath: previous)) ?? [] where !skip.contains(name) {
            if let size = regularFileSize(previous + "/" + name) { bySize[size, default: []].append(name) }
        }
        var shared = 0
        for name in ((try? fm.contentsOfDirectory(atPath: directory)) ?? []).sorted() where !skip.contains(name) && !name.hasPrefix(".") {
            let path = directory + "/" + name
            guard let size = regularFileSize(path), size > 0, var candidates = bySize[size] else { continue }
            if let same = candidates.firstIndex(of: name) { candidates.swapAt(0, same) }
            guard let match = candidates.first(where: { sameContent(path, previous + "/" + $0) }) else { continue }
            let temporary = directory + "/.share-\(name)"
            try FileCopy.clone(from: previous + "/" + match, to: temporary)
            guard rename(temporary, path) == 0 else {
                let message = String(cString: strerror(errno))
                unlink(temporary)
                throw PGArchiveError("cannot rename \(temporary) to \(path): \(message)")
            }
            shared += 1
        }
        return shared
    }

    static func regularFileSize(_ path: String) -> UInt64? {
        var info = stat()
        guard lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        return UInt64(info.st_size)
    }

    /// Byte-for-byte comparison of two files.
    static func sameContent(_ a: String, _ b: String) -> Bool {
        let fa = open(a, O_RDONLY | O_CLOEXEC)
        guard fa >= 0 else { return false }
        defer { close(fa) }
        let fb = open(b, O_RDONLY | O_CLOEXEC)
        guard fb >= 0 else { return false }
        defer { close(fb) }
        let chunk = 1 << 20
        var bufferA = [UInt8](repeating: 0, count: chunk)
        var bufferB = [UInt8](repeating: 0, count: chunk)
        while true {
            let na = readFully(fa, &bufferA)
            let nb = readFully(fb, &bufferB)
            guard na >= 0, nb >= 0, na == nb else { return false }
            if na == 0 { return true }
            if memcmp(bufferA, bufferB, na) != 0 { return false }
        }
    }

    private static func readFully(_ fd: Int32, _ buffer: inout [UInt8]) -> Int {
        var total = 0
        while total < buffer.count {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress! + total, $0.count - total) }
            if n < 0 { if errno == EINTR { continue }; return -1 }
            if n == 0 { break }
            total += n
        }
        return total
    }
}
