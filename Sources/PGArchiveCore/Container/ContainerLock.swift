import Foundation

/// A `flock` on a file in `run/`, one file per kind of conflicting work. The kernel drops
/// the lock when the holder dies, so a crash never leaves a stale lock. The holder writes
/// its pid and command into the file so a waiter can say who it is waiting for.
public final class ContainerLock {
    public enum Kind: String, Sendable {
        /// init, start/stop, purge, retire, resync: the daemons and the container itself.
        case container
        /// snapshot create/delete/expire/thin, clone create/delete.
        case snapshots
        case dumps
        /// verify (cron and --restore): one at a time.
        case verify
        /// restorepoint create: the name check and the update of restore_points.json.
        case restorePoints = "restore_points"
    }

    private let fd: Int32
    public let path: String

    private init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    deinit {
        flock(fd, LOCK_UN)
        close(fd)
    }

    /// Takes the lock. Without `wait` a held lock is an error with exit code 75 naming the
    /// holder; with `wait` it logs who holds it and blocks until it is free.
    public static func acquire(_ kind: Kind, in runDirectory: String, command: String, wait: Bool,
                               onWait: (String) -> Void = { _ in }) throws(PGArchiveError) -> ContainerLock {
        let path = runDirectory + "/\(kind.rawValue).lock"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw PGArchiveError("cannot open lock file \(path): \(String(cString: strerror(errno)))") }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK else {
                let message = String(cString: strerror(errno))
                close(fd)
                throw PGArchiveError("cannot lock \(path): \(message)")
            }
            let holder = describeHolder(path)
            if !wait {
                close(fd)
                throw PGArchiveError("another pgarchive \(holder) is working on this container (\(kind.rawValue) lock); try again later",
                                     exitCode: PGArchiveError.temporaryFailureExitCode)
            }
            onWait("waiting for another pgarchive \(holder) to finish (\(kind.rawValue) lock)")
            while flock(fd, LOCK_EX) != 0 {
                if errno != EINTR {
                    close(fd)
                    throw PGArchiveError("cannot lock \(path): \(String(cString: strerror(errno)))")
                }
            }
        }
        let info = "\(getpid()) \(command)\n"
        ftruncate(fd, 0)
        _ = info.withCString { pwrite(fd, $0, strlen($0), 0) }
        return ContainerLock(fd: fd, path: path)
    }

    static func describeHolder(_ path: String) -> String {
        // The holder writes its pid right after taking the lock: give it a moment.
        var text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        for _ in 0..<10 where text.isEmpty {
            usleep(20_000)
            text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        }
        let line = text.split(separator: "\n").first.map(String.init) ?? ""
        let parts = line.split(separator: " ", maxSplits: 1).map(String.init)
        guard let pid = parts.first, !pid.isEmpty else { return "(unknown pid)" }
        return "(pid \(pid)" + (parts.count > 1 ? ", running `pgarchive \(parts[1])`)" : ")")
    }
}
