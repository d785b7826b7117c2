import ArgumentParser
import Foundation
import PGArchiveCore
import Postgres

struct StandbyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "standby",
        abstract: "The warm standby: a thin front for pg_ctl on standby/.",
        discussion: "Examples:\n  pgarchive standby status\n  pgarchive standby log -f",
        subcommands: [StandbyStartCommand.self, StandbyStopCommand.self, StandbyStatusCommand.self,
                      StandbyReloadCommand.self, StandbyRestartCommand.self, StandbyLogCommand.self]
    )
}

/// Runs one pg_ctl action on the standby with extra arguments passed through.
struct StandbyPgCtl {
    static func run(_ action: PgCtl.Action, options: ContainerOptions, extra: [String]) async throws {
        let container = try options.open()
        // start, stop and restart change what runs: under the container lock, like the
        // watchdog (which would otherwise restart a standby being stopped).
        var lock: ContainerLock?
        if action == .start || action == .stop || action == .restart {
            lock = try container.lock(.container, command: "standby \(action.rawValue)")
        }
        defer { _ = lock }
        let binaries = try await container.binaries()
        if action == .start || action == .restart {
            try container.standby.requireStandbySignal()
            try container.standby.writeConfiguration()
        }
        let code = try await container.standby.pgCtl(action, binaries: binaries, extra: extra).runInteractive()
        if code != 0 { throw ExitCode(code) }
    }
}

struct StandbyStartCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "start", abstract: "Start the standby and wait until it replays.",
        discussion: "Examples:\n  pgarchive standby start")
    @OptionGroup var options: ContainerOptions

    func run() async throws {
        let container = try options.open()
        guard !container.isRetired else { throw PGArchiveError("container is retired; `pgarchive container resync` first") }
        let lock = try container.lock(.container, command: "standby start")
        defer { _ = lock }
        try await container.standby.start(binaries: container.binaries(), logger: container.logger)
    }
}

struct StandbyStopCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stop", abstract: "Stop the standby (pg_ctl stop; extra arguments such as -m immediate pass through).",
        discussion: "Examples:\n  pgarchive standby stop\n  pgarchive standby stop -- -m immediate")
    @OptionGroup var options: ContainerOptions
    @Argument(parsing: .postTerminator) var pgCtlArguments: [String] = []
    func run() async throws { try await StandbyPgCtl.run(.stop, options: options, extra: pgCtlArguments) }
}

struct StandbyStatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "pg_ctl status of the standby.",
        discussion: "Examples:\n  pgarchive standby status")
    @OptionGroup var options: ContainerOptions
    @Argument(parsing: .postTerminator) var pgCtlArguments: [String] = []
    func run() async throws { try await StandbyPgCtl.run(.status, options: options, extra: pgCtlArguments) }
}

struct StandbyReloadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "reload", abstract: "Make the standby re-read its configuration.",
        discussion: "Examples:\n  pgarchive standby reload")
    @OptionGroup var options: ContainerOptions
    @Argument(parsing: .postTerminator) var pgCtlArguments: [String] = []
    func run() async throws { try await StandbyPgCtl.run(.reload, options: options, extra: pgCtlArguments) }
}

struct StandbyRestartCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "restart", abstract: "Restart the standby.",
        discussion: "Examples:\n  pgarchive standby restart")
    @OptionGroup var options: ContainerOptions
    @Argument(parsing: .postTerminator) var pgCtlArguments: [String] = []
    func run() async throws { try await StandbyPgCtl.run(.restart, options: options, extra: pgCtlArguments) }
}

struct StandbyLogCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "log", abstract: "Show the end of the standby's log, or follow it with -f.",
        discussion: "Examples:\n  pgarchive standby log -l 100\n  pgarchive standby log -f")
    @OptionGroup var options: ContainerOptions
    @Flag(name: .short, help: "Follow the log as it grows.") var follow = false
    @Option(name: .short, help: "Lines to show.") var lines = 40

    func run() async throws {
        let container = try options.open()
        try await showLog(container.layout.standbyLog, lines: lines, follow: follow)
    }
}
