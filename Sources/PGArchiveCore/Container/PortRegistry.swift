import Foundation

/// Which ports the service user's containers and clones use. A standby listens on no TCP
/// address and a clone that is created but not started listens on nothing yet, so a TCP probe
/// cannot see them; without this list two containers would hand out the same port.
/// Kept in `$XDG_STATE_HOME/pgarchive/ports` (default `~/.local/state/pgarchive/ports`) as
/// `PORT SECONDS PATH` lines (older files: `PORT PATH`), under a flock. PATH is a container
/// (kept while its pgarchive.conf exists) or a clone's data directory (kept while it exists);
/// an entry younger than `grace` is kept either way, because a reservation is made before
/// the container or clone it is for is written.
public enum PortRegistry {
    public static var file: String {
        let env = ProcessInfo.processInfo.environment
        let base = env["XDG_STATE_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? (env["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()) + "/.local/state"
        return base + "/pgarchive/ports"
    }

    /// How long a reservation counts before the container or clone it names exists.
    public static let grace: TimeInterval = 600

    /// Picks and records a port for `container` (a container or a clone directory) from
    /// `start` on: free on TCP, not in `avoiding`, and not recorded for another existing
    /// container or clone. A port already recorded for it is kept.
    public static func reserve(for container: String, startingAt start: Int, avoiding: Set<Int> = [],
                               registry: String = file, now: Date = Date()) throws(PGArchiveError) -> Int {
        let directory = (registry as NSString).deletingLastPathComponent
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let fd = open(registry, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            // No writable home: fall back to the TCP probe alone.
            var port = start
            while port < 65535 && (avoiding.contains(port) || !PortFinder.isFree(port)) { port += 1 }
            guard port < 65535 else { throw PGArchiveError("no free port from \(start) on") }
            return port
        }
        defer { close(fd) }
        flock(fd, LOCK_EX)
        defer { flock(fd, LOCK_UN) }
        let text = (try? String(contentsOfFile: registry, encoding: .utf8)) ?? ""
        var entries: [Entry] = []
        for line in text.split(separator: "\n") {
            guard let entry = Entry(line: String(line)) else { continue }
            if entry.path != container && !entry.isLive(now: now) { continue }
            entries.append(entry)
        }
        if let mine = entries.first(where: { $0.path == container }) { return mine.port }
        let taken = Set(entries.map(\.port)).union(avoiding)
        var port = start
        while port < 65535 && (taken.contains(port) || !PortFinder.isFree(port)) { port += 1 }
        guard port < 65535 else { throw PGArchiveError("no free port from \(start) on") }
        entries.append(Entry(port: port, reserved: now, path: container))
        let rendered = entries.map(\.line).joined(separator: "\n") + "\n"
        ftruncate(fd, 0)
        _ = rendered.withCString { pwrite(fd, $0, strlen($0), 0) }
        return port
    }

    /// One line of the registry.
    struct Entry {
        var port: Int
        /// When it was reserved; nil for lines of the older two-field format.
        var reserved: Date?
        var path: String

        init(port: Int, reserved: Date?, path: String) {
            self.port = port; self.reserved = reserved; self.path = path
        }

        /// `PORT SECONDS /path` or the older `PORT /path` (paths are absolute, so a second
        /// field that is a number is the time).
        init?(line: String) {
            let parts = line.split(separator: " ", maxSplits: 2).map(String.init)
            guard parts.count >= 2, let port = Int(parts[0]) else { return nil }
            if parts.count == 3, let seconds = Int(parts[1]), parts[2].hasPrefix("/") {
                self.init(port: port, reserved: Date(timeIntervalSince1970: TimeInterval(seconds)), path: parts[2])
            } else {
                self.init(port: port, reserved: nil, path: parts.dropFirst().joined(separator: " "))
            }
        }

        var line: String {
            guard let reserved else { return "\(port) \(path)" }
            return "\(port) \(Int(reserved.timeIntervalSince1970)) \(path)"
        }

        /// Its container (pgarchive.conf) or clone (PG_VERSION) exists, or it is fresh.
        func isLive(now: Date) -> Bool {
            let files = FileManager.default
            if files.fileExists(atPath: path + "/pgarchive.conf") || files.fileExists(atPath: path + "/PG_VERSION") { return true }
            guard let reserved else { return false }
            return now.timeIntervalSince(reserved) < PortRegistry.grace
        }
    }
}
