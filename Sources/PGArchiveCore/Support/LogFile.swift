import Foundation

/// Reading the ends of log files for error messages and `log` commands.
public enum LogFile {
    public static func size(_ path: String) -> UInt64 {
        var st = stat()
        return stat(path, &st) == 0 ? UInt64(st.st_size) : 0
    }

    /// The last `lines` lines written after byte `offset`.
    public static func tail(_ path: String, from offset: UInt64 = 0, lines: Int) -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else { return "(no log at \(path))" }
        defer { try? handle.close() }
        let size = self.size(path)
        let start = max(offset, size > 256 * 1024 ? size - 256 * 1024 : 0)
        try? handle.seek(toOffset: start)
        let data = (try? handle.readToEnd()) ?? Data()
        let text = String(decoding: data, as: UTF8.self)
        return text.split(separator: "\n").suffix(lines).map { "  " + $0 }.joined(separator: "\n")
    }
}
