import Foundation

/// Which ports the service user's containers use. A standby listens on no TCP address, so a
/// TCP probe cannot see it; without this list every container would pick the same port.
/// Kept in `$XDG_STATE_HOME/pgarchive/ports` (default `~/.local/state/pgarchive/ports`) as
/// `PORT PATH` lines, under a flock; entries of containers that no longer exist are dropped.
public enum PortRegistry {
    public static var file: String {
        let env = ProcessInfo.processInfo.environment
        let base = env["XDG_STATE_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? (env["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()) + "/.local/state"
        return base + "/pgarchive/ports"
    }

    /// Picks and records a port for `container` from `start` on: free on TCP and not
    /// recorded for another existing container. A port already recorded for it is kept.
    public static func reserve(for container: String, startingAt start: Int, registry: String = file) throws(PGArchiveError) -> Int {
        let directory = (registry as NSString).deletingLastPathComponent
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let fd = open(registry, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            // No writable home: fall back to the TCP probe alone.
            return try PortFinder.free(startingAt: start)
        }
        defer { close(fd) }
        flock(fd, LOCK_EX)
        defer { flock(fd, LOCK_UN) }
        let text = (try? String(contentsOfFile: registry, encoding: .utf8)) ?? ""
        var entries: [(port: Int, path: String)] = []
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 1).map(String.init)
            guard parts.count == 2, let port = Int(parts[0]) else { continue }
            if parts[1] != container && !FileManager.default.fileExists(atPath: parts[1] + "/pgarchive.conf") { continue }
            entries.append((port, parts[1]))
        }
        if let mine = entries.first(where: { $0.path == container }) { return mine.port }
        let taken = Set(entries.map(\.port))
        var port = start
        while port < 65535 && (taken.contains(port) || !PortFinder.isFree(port)) { port += 1 }
        guard port < 65535 else { throw PGArchiveError("no free port from \(start) on") }
        entries.append((port, container))
        let rendered = entries.map { "\($0.port) \($0.path)" }.joined(separator: "\n") + "\n"
        ftruncate(fd, 0)
        _ = rendered.withCString { pwrite(fd, $0, strlen($0), 0) }
        return port
    }
}
