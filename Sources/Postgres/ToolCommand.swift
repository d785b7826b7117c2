import Foundation
import Subprocess
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// One invocation of an external program as an argv array: never a shell string.
///
/// Every PostgreSQL tool pgarchive runs (pg_basebackup, pg_receivewal, pg_ctl, …) is
/// built as a `ToolCommand` value first, so the exact argv can be unit-tested without
/// running anything, and a failure can report precisely what was run.
public struct ToolCommand: Sendable, Equatable, CustomStringConvertible {
    /// Absolute path of the executable (or a bare name looked up in `PATH`).
    public var executable: String
    public var arguments: [String]
    /// Variables added to (or, with a `nil` value, removed from) the inherited environment.
    /// Secrets such as `PGPASSWORD` travel here, never in `arguments`.
    public var environment: [String: String?]
    public var workingDirectory: String?

    public init(executable: String, arguments: [String], environment: [String: String?] = [:],
                workingDirectory: String? = nil) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.workingDirectory = workingDirectory
    }

    /// The argv as it would appear in `ps`, arguments quoted where needed. For messages only.
    public var description: String {
        ([executable] + arguments).map(Self.quoteForDisplay).joined(separator: " ")
    }

    static func quoteForDisplay(_ word: String) -> String {
        let safe = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-_./=:,@%+"))
        if !word.isEmpty && word.unicodeScalars.allSatisfy(safe.contains) { return word }
        return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}

/// What a finished command produced.
public struct CommandOutput: Sendable {
    public var command: ToolCommand
    /// Exit code, or `nil` when the process was killed by a signal.
    public var exitCode: Int32?
    public var signal: Int32?
    public var standardOutput: String
    public var standardError: String

    public var succeeded: Bool { exitCode == 0 }
}

/// A command that could not be started, or that exited non-zero.
public struct CommandError: Error, CustomStringConvertible, Sendable {
    public var command: ToolCommand
    public var exitCode: Int32?
    public var signal: Int32?
    public var standardError: String
    public var launchFailure: String?

    public var description: String {
        let name = (command.executable as NSString).lastPathComponent
        if let launchFailure {
            return "could not run \(name): \(launchFailure) (command: \(command))"
        }
        var text: String
        if let signal {
            text = "\(name) was killed by signal \(signal)"
        } else {
            text = "\(name) failed with exit code \(exitCode ?? -1)"
        }
        text += " (command: \(command))"
        let tail = Self.tail(of: standardError, lines: 8)
        if !tail.isEmpty {
            text += "\n" + tail.split(separator: "\n", omittingEmptySubsequences: false)
                .map { "  \(name): \($0)" }.joined(separator: "\n")
        }
        return text
    }

    static func tail(of text: String, lines: Int) -> String {
        let all = text.split(separator: "\n", omittingEmptySubsequences: true)
        return all.suffix(lines).joined(separator: "\n")
    }
}

extension ToolCommand {
    /// Runs the command to completion, capturing stdout and stderr (up to `outputLimit` bytes each).
    /// Does not throw on a non-zero exit; see `check()` and `runChecked`.
    public func run(input: String? = nil, outputLimit: Int = 64 << 20) async throws(CommandError) -> CommandOutput {
        var env: [Environment.Key: String?] = [:]
        for (key, value) in environment { env[Environment.Key(stringLiteral: key)] = value }
        let exe: Executable = executable.contains("/") ? .path(FilePath(executable)) : .name(executable)
        do {
            let result: ExecutionResult<Void, StringOutput<UTF8>, StringOutput<UTF8>>
            if let input {
                result = try await Subprocess.run(
                    exe, arguments: Arguments(arguments), environment: .inherit.updating(env),
                    workingDirectory: workingDirectory.map { FilePath($0) },
                    input: .string(input),
                    output: .string(limit: outputLimit), error: .string(limit: outputLimit))
            } else {
                result = try await Subprocess.run(
                    exe, arguments: Arguments(arguments), environment: .inherit.updating(env),
                    workingDirectory: workingDirectory.map { FilePath($0) },
                    input: .none,
                    output: .string(limit: outputLimit), error: .string(limit: outputLimit))
            }
            var output = CommandOutput(command: self, exitCode: nil, signal: nil,
                                       standardOutput: result.standardOutput,
                                       standardError: result.standardError)
            switch result.terminationStatus {
            case .exited(let code): output.exitCode = code
            case .signaled(let sig): output.signal = sig
            }
            return output
        } catch {
            throw CommandError(command: self, exitCode: nil, signal: nil, standardError: "",
                               launchFailure: "\(error)")
        }
    }

    /// Runs the command and throws a `CommandError` (argv, exit code, stderr tail) unless it exits 0.
    @discardableResult
    public func runChecked(input: String? = nil) async throws(CommandError) -> CommandOutput {
        let output = try await run(input: input)
        try output.check()
        return output
    }

    /// Runs the command with stdin, stdout and stderr inherited from pgarchive (interactive
    /// tools such as psql, or `tail -f` of a log). Returns the exit code (128+N for signal N).
    public func runInteractive() async throws(CommandError) -> Int32 {
        var env: [Environment.Key: String?] = [:]
        for (key, value) in environment { env[Environment.Key(stringLiteral: key)] = value }
        let exe: Executable = executable.contains("/") ? .path(FilePath(executable)) : .name(executable)
        do {
            let result = try await Subprocess.run(
                exe, arguments: Arguments(arguments), environment: .inherit.updating(env),
                workingDirectory: workingDirectory.map { FilePath($0) },
                input: .currentStandardInput,
                output: .currentStandardOutput, error: .currentStandardError)
            switch result.terminationStatus {
            case .exited(let code): return code
            case .signaled(let sig): return 128 + sig
            }
        } catch {
            throw CommandError(command: self, exitCode: nil, signal: nil, standardError: "",
                               launchFailure: "\(error)")
        }
    }
}

extension CommandOutput {
    public func check() throws(CommandError) {
        if exitCode != 0 {
            throw CommandError(command: command, exitCode: exitCode, signal: signal,
                               standardError: standardError, launchFailure: nil)
        }
    }
}
