import Foundation

extension ContainerMetrics {
    /// `metrics --output FILE`: replaces FILE atomically (a temporary file beside it, then a
    /// rename, so node_exporter never reads half a file). A relative FILE is taken from the
    /// current directory, so the temporary file lands on the same file system; the file is
    /// readable by node_exporter, which usually runs as another user.
    public static func write(_ text: String, to output: String) throws {
        let path = output.hasPrefix("/") ? output : FileManager.default.currentDirectoryPath + "/" + output
        try AtomicFile.write(text, to: path, mode: 0o644)
    }
}
