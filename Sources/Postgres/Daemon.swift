import Foundation

#if canImport(Glibc)
import Glibc
#endif

extension ToolCommand {
    /// Starts the command as a daemon: in its own session (so it survives the terminal and
    /// pgarchive exiting), stdin from /dev/null, stdout and stderr appended to `logFile`.
    /// Returns its pid without waiting. Used for pg_receivewal, which must outlive the
    /// `pgarchive` process that starts it.
    public func spawnDetached(logFile: String) throws(CommandError) -> pid_t {
        func failure(_ what: String) -> CommandError {
            CommandError(command: self, exitCode: nil, signal: nil, standardError: "",
                         launchFailure: what)
        }
        guard executable.hasPrefix("/") else { throw failure("a daemon needs an absolute executable path") }

        var fileActions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&fileActions)
        defer { posix_spawn_file_actions_destroy(&fileActions) }
        posix_spawn_file_actions_addopen(&fileActions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&fileActions, 1, logFile, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        posix_spawn_file_actions_adddup2(&fileActions, 1, 2)
        guard workingDirectory == nil else { throw failure("daemons run with absolute paths, not a working directory") }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // POSIX_SPAWN_SETSID (glibc >= 2.26) plus a default signal mask and dispositions.
        let setsid: Int32 = 0x80
        posix_spawnattr_setflags(&attributes, Int16(setsid | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for sig in [SIGHUP, SIGINT, SIGTERM, SIGPIPE, SIGCHLD, SIGQUIT] { sigaddset(&defaults, sig) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)

        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment {
            if let value { env[key] = value } else { env.removeValue(forKey: key) }
        }
        let argv = [executable] + arguments
        let envp = env.map { "\($0.key)=\($0.value)" }

        var pid: pid_t = 0
        let rc = withCStrings(argv) { cArgv in
            withCStrings(envp) { cEnv in
                posix_spawn(&pid, executable, &fileActions, &attributes, cArgv, cEnv)
            }
        }
        guard rc == 0 else { throw failure(String(cString: strerror(rc))) }
        return pid
    }
}

private func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
    var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
    pointers.append(nil)
    defer { for p in pointers { free(p) } }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}
