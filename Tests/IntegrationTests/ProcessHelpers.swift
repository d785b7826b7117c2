import Foundation

/// Pids whose parent is `parent` (from /proc/PID/stat).
func childPIDs(of parent: pid_t) -> [pid_t] {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return names.compactMap { name -> pid_t? in
        guard let pid = pid_t(name),
              let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // After "comm)": state, ppid, …
        guard fields.count > 1, pid_t(fields[1]) == parent else { return nil }
        return pid
    }
}

/// The process is gone and reaped: not even a zombie answers kill(pid, 0).
func isGone(_ pid: pid_t) -> Bool {
    kill(pid, 0) != 0 && errno == ESRCH
}
