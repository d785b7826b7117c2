import Foundation

/// What pgarchive knows about a daemon from its pid file and /proc.
public enum DaemonState: Sendable, Equatable, CustomStringConvertible {
    case running(pid: pid_t)
    case stopped
    /// A pid file whose process is gone (or is now some other program).
    case stalePIDFile(pid: pid_t)

    public var isRunning: Bool { if case .running = self { return true } else { return false } }
    public var pid: pid_t? {
        switch self {
        case .running(let pid), .stalePIDFile(let pid): return pid
        case .stopped: return nil
        }
    }

    public var description: String {
        switch self {
        case .running(let pid): return "running (pid \(pid))"
        case .stopped: return "stopped"
        case .stalePIDFile(let pid): return "stopped (stale pid file: pid \(pid) is gone)"
        }
    }
}

/// Small, explicit helpers over /proc and signals. We only ever signal pids we started
/// (from our own pid files) and check /proc/PID/cmdline before doing so.
public enum Processes {
    /// The argv of a live process, or nil if there is none with that pid.
    public static func commandLine(of pid: pid_t) -> [String]? {
        guard pid > 0, let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return nil }
        if data.isEmpty { return nil } // zombie or kernel thread
        return data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
    }

    public static func isAlive(_ pid: pid_t) -> Bool {
        guard pid > 0 else { return false }
        if kill(pid, 0) == 0 || errno == EPERM {
            // A zombie still answers kill(0); its /proc stat says Z.
            if let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
               let close = stat.lastIndex(of: ")") {
                let state = stat[stat.index(close, offsetBy: 2)]
                return state != "Z" && state != "X"
            }
            return true
        }
        return false
    }

    /// Reads the first line of a pid file as a pid.
    public static func readPIDFile(_ path: String) -> pid_t? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8),
              let first = text.split(separator: "\n").first else { return nil }
        return pid_t(first.trimmingCharacters(in: .whitespaces))
    }

    /// State of a daemon from its pid file: running only if the pid is alive and its argv
    /// satisfies `matches` (guards against pid reuse).
    public static func state(pidFile: String, matches: ([String]) -> Bool) -> DaemonState {
        guard let pid = readPIDFile(pidFile) else { return .stopped }
        if let argv = commandLine(of: pid), matches(argv), isAlive(pid) { return .running(pid: pid) }
        return .stalePIDFile(pid: pid)
    }

    /// State of the PostgreSQL server in `dataDirectory`, from its postmaster.pid: running
    /// only if that pid is a live process whose working directory is `dataDirectory` (the
    /// postmaster chdirs into it before it writes the pid file). A name match is not enough:
    /// after a reboot or crash the pid may belong to any process, even one of the same user
    /// whose argv mentions "postgres" (`runuser -u postgres -- …`).
    public static func postmasterState(dataDirectory: String) -> DaemonState {
        state(pidFile: dataDirectory + "/postmaster.pid") { _ in true }.checking { pid in
            isPostmaster(pid, of: dataDirectory)
        }
    }

    /// SIGTERM, wait up to `timeout`, then SIGKILL. Returns true when the process is gone.
    /// Reaps the child if it is ours.
    @discardableResult
    public static func terminate(_ pid: pid_t, timeout: TimeInterval = 15) -> Bool {
        guard isAlive(pid) else { return true }
        kill(pid, SIGTERM)
        if waitForExit(pid, timeout: timeout) { return true }
        kill(pid, SIGKILL)
        return waitForExit(pid, timeout: 5)
    }

    /// Waits until `pid` no longer exists at all, not even as a zombie. A killed postmaster
    /// whose parent (init, here) has not reaped it yet still answers `kill(pid, 0)`, and
    /// PostgreSQL refuses to start while the pid in its old postmaster.pid answers.
    @discardableResult
    public static func waitUntilGone(_ pid: pid_t, timeout: TimeInterval = 15) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while kill(pid, 0) == 0 || errno == EPERM {
            if Date() > deadline { return false }
            var status: Int32 = 0
            _ = waitpid(pid, &status, WNOHANG)
            usleep(50_000)
        }
        return true
    }

    public static func waitForExit(_ pid: pid_t, timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            var status: Int32 = 0
            _ = waitpid(pid, &status, WNOHANG)
            if !isAlive(pid) { return true }
            usleep(100_000)
        }
        return !isAlive(pid)
    }
}
