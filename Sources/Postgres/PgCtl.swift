import Foundation

/// `pg_ctl`: starts, stops, reloads and promotes the standby and clones.
///
/// Note that `pg_ctl -w start` exits 0 even when recovery then fails; read the result from
/// the server log, pg_control or `pg_is_in_recovery()`.
public struct PgCtl: Sendable, Equatable {
    public enum Action: String, Sendable {
        case start, stop, restart, reload, promote, status
    }

    /// `-m`: `smart` waits for clients, `fast` disconnects them, `immediate` aborts (crash
    /// recovery on the next start).
    public enum ShutdownMode: String, Sendable {
        case smart, fast, immediate
    }

    public var binaries: PostgresBinaries
    public var action: Action
    public var dataDirectory: String
    /// `-l`: the server's log file (start/restart).
    public var logFile: String?
    /// Arguments for `postgres` (start/restart), e.g. `["-c", "port=5433"]`. pg_ctl passes
    /// `-o` through `/bin/sh`, so each argument is quoted for the shell here.
    public var serverOptions: [String] = []
    /// `true`: `-w` (wait for the action to finish), `false`: `-W`, `nil`: pg_ctl's default.
    public var wait: Bool?
    /// `-t`: seconds to wait.
    public var timeout: Int?
    /// `-m` for stop/restart.
    public var mode: ShutdownMode?

    public init(binaries: PostgresBinaries, action: Action, dataDirectory: String, logFile: String? = nil,
                serverOptions: [String] = [], wait: Bool? = nil, timeout: Int? = nil, mode: ShutdownMode? = nil) {
        self.binaries = binaries
        self.action = action
        self.dataDirectory = dataDirectory
        self.logFile = logFile
        self.serverOptions = serverOptions
        self.wait = wait
        self.timeout = timeout
        self.mode = mode
    }

    public var command: ToolCommand {
        var arguments = ["-D", dataDirectory]
        if let logFile { arguments += ["-l", logFile] }
        if !serverOptions.isEmpty {
            arguments += ["-o", serverOptions.map(shellQuote).joined(separator: " ")]
        }
        if let wait { arguments.append(wait ? "-w" : "-W") }
        if let timeout { arguments += ["-t", String(timeout)] }
        if let mode { arguments += ["-m", mode.rawValue] }
        arguments.append(action.rawValue)
        return ToolCommand(executable: binaries.path("pg_ctl"), arguments: arguments)
    }
}

/// Quotes one word for `/bin/sh` (only for pg_ctl's `-o`, which pg_ctl hands to a shell).
func shellQuote(_ word: String) -> String {
    let safe = !word.isEmpty && word.unicodeScalars.allSatisfy { scalar in
        switch scalar {
        case "a"..."z", "A"..."Z", "0"..."9", "-", "_", ".", "/", "=", ":", ",", "@", "+", "%": true
        default: false
        }
    }
    return safe ? word : "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
}
