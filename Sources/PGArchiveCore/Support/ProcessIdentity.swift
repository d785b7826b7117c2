import Foundation
import Logging

/// Telling our own daemons from strangers that reuse their pids: a process is the postmaster
/// of a data directory only if its working directory is that directory, and pg_receivewal of
/// an archive only if it writes into it. Reading /proc/PID/cwd of another user's process is
/// refused (EACCES), which rightly makes it "not ours": our servers run as the service user.
extension Processes {
    /// The working directory of a live process, or nil (gone, zombie, another user's).
    public static func workingDirectory(of pid: pid_t) -> String? {
        guard pid > 0 else { return nil }
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink("/proc/\(pid)/cwd", &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        buffer[n] = 0
        return String(cString: buffer)
    }

    /// `path` with symlinks resolved (itself if it does not exist).
    static func canonical(_ path: String) -> String {
        guard let resolved = realpath(path, nil) else { return path }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// True when `pid` is alive and runs in `dataDirectory` (its cwd), i.e. it is that data
    /// directory's postmaster (or one of its backends, which a postmaster.pid never names).
    public static func isPostmaster(_ pid: pid_t, of dataDirectory: String) -> Bool {
        guard isAlive(pid), let cwd = workingDirectory(of: pid) else { return false }
        return cwd == canonical(dataDirectory)
    }

    /// Before starting a server in `dataDirectory`: a postmaster.pid whose pid is alive but is
    /// not this data directory's postmaster (a reused pid) would make PostgreSQL refuse to
    /// start ("Is another postmaster running?"), so it is removed. A pid that is gone, or a
    /// zombie of our old postmaster, is waited for. Returns false if the old postmaster of
    /// this directory still runs (then nothing is removed).
    @discardableResult
    public static func clearStalePostmasterPID(dataDirectory: String, logger: Logger) -> Bool {
        let pidFile = dataDirectory + "/postmaster.pid"
        guard let pid = readPIDFile(pidFile) else { return true }
        if isPostmaster(pid, of: dataDirectory) { return false }
        if isAlive(pid) {
            // Alive, not in this directory: a stranger. Never signal it; drop the stale file.
            logger.notice("\(pidFile) names pid \(pid), which is another process now (not a server in \(dataDirectory)); removing the stale pid file")
            if unlink(pidFile) != 0 && errno != ENOENT { return false }
            return true
        }
        return waitUntilGone(pid)
    }
}

extension DaemonState {
    /// `.running` only if `isOurs(pid)`; otherwise a running state becomes a stale pid file.
    func checking(_ isOurs: (pid_t) -> Bool) -> DaemonState {
        if case .running(let pid) = self, !isOurs(pid) { return .stalePIDFile(pid: pid) }
        return self
    }
}
