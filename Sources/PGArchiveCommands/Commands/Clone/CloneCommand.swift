import ArgumentParser
import Foundation
import PGArchiveCore
import Postgres

struct CloneCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clone",
        abstract: "Writable snapshots recovered to a point in time, each running on its own port.",
        discussion: "Examples:\n  pgarchive clone create undo --time '2026-11-21 14:30' --start\n  pgarchive clone list --status",
        subcommands: [CloneCreateCommand.self, CloneStartCommand.self, CloneStopCommand.self, CloneRestartCommand.self,
                      CloneStatusCommand.self, CloneListCommand.self, CloneLogCommand.self, ClonePsqlCommand.self,
                      CloneDuplicateCommand.self, CloneDeleteCommand.self]
    )
}

struct CloneCreateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Clone the right snapshot and prepare it to recover to a target (default: latest).",
        discussion: "Without --snapshot the newest snapshot from which the target is reachable is used. The clone is not started unless --start is given.\n\nExamples:\n  pgarchive clone create undo --time '2026-11-21 14:30' --start\n  pgarchive clone create pre-release --restore-point before_release_42\n  pgarchive clone create newest --latest --start\n  pgarchive clone create for-anna --time '2026-11-21 14:30' --allow anna --start")
    @OptionGroup var options: ContainerOptions
    @OptionGroup var target: TargetOptions
    @Option(help: "Base the clone on this snapshot.", completion: .snapshotNames) var snapshot: String?
    @Flag(help: "Start the clone and wait until it is promoted.") var start = false
    @Option(name: .customLong("allow"), help: ArgumentHelp(
        "Let ROLE log in with its password (scram-sha-256) from this machine, or from the network CIDR (SSL required off loopback; clone_listen_addresses must reach it). Repeatable. Without it only the service user can log in, through the socket in run/.",
        valueName: "ROLE[@CIDR]")) var allow: [String] = []
    @Argument(help: "Name of the new clone.") var name: String

    func run() async throws {
        let recoveryTarget = try target.target() // bad options are refused before anything else
        var rules: [CloneAccessRule] = []
        for text in allow { rules.append(try CloneAccessRule(parsing: text)) }
        let container = try options.open()
        if case .time(let date) = recoveryTarget {
            container.logger.info("target time resolved to \(ISO8601.utc(date)) (\(TargetTimeParser.postgresLiteral(date)))")
        }
        let clone: CloneMetadata
        do {
            let lock = try container.lock(.snapshots, command: "clone create")
            defer { _ = lock }
            clone = try await container.createClone(name: name, target: recoveryTarget, snapshot: snapshot, allow: rules)
            if start { _ = try await container.startClone(name) }
        }
        print("\(clone.name) port=\(clone.port) snapshot=\(clone.snapshot) target=\(clone.target)")
    }
}

struct CloneStartCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "start", abstract: "Start a clone and wait until recovery has finished and it is promoted.",
        discussion: "Examples:\n  pgarchive clone start before-mistake")
    @OptionGroup var options: ContainerOptions
    @Argument(help: "Clone name.", completion: .cloneNames) var name: String

    func run() async throws {
        let container = try options.open()
        // The snapshots lock, as clone create and delete take it: a clone is not deleted or
        // re-created under a start.
        let lock = try container.lock(.snapshots, command: "clone start \(name)")
        defer { _ = lock }
        let clone = try await container.startClone(name)
        print("\(clone.name) port=\(clone.port) host=\(container.layout.run)")
    }
}

struct CloneStopCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stop", abstract: "Stop a clone, or all with --all.",
        discussion: "Examples:\n  pgarchive clone stop before-mistake\n  pgarchive clone stop --all")
    @OptionGroup var options: ContainerOptions
    @Flag(help: "Stop every running clone.") var all = false
    @Argument(help: "Clone name.", completion: .cloneNames) var name: String?

    func run() async throws {
        let container = try options.open()
        let lock = try container.lock(.snapshots, command: all ? "clone stop --all" : "clone stop \(name ?? "")")
        defer { _ = lock }
        if all {
            for clone in try container.clones.list() { _ = try await container.stopClone(clone.name) }
            return
        }
        guard let name else { throw PGArchiveError("name a clone, or use --all") }
        if try await !container.stopClone(name) { container.logger.info("clone \(name) is not running") }
    }
}

struct CloneRestartCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "restart", abstract: "Stop and start a clone.",
        discussion: "Examples:\n  pgarchive clone restart before-mistake")
    @OptionGroup var options: ContainerOptions
    @Argument(help: "Clone name.", completion: .cloneNames) var name: String

    func run() async throws {
        let container = try options.open()
        let lock = try container.lock(.snapshots, command: "clone restart \(name)")
        defer { _ = lock }
        _ = try await container.stopClone(name)
        _ = try await container.startClone(name)
    }
}

struct CloneStatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Show whether a clone runs; exit 1 if not.",
        discussion: "Examples:\n  pgarchive clone status before-mistake")
    @OptionGroup var options: ContainerOptions
    @Argument(help: "Clone name.", completion: .cloneNames) var name: String

    func run() async throws {
        let container = try options.open()
        let clone = try container.clones.get(name)
        let state = container.clones.state(name)
        print("\(clone.name): \(state), port \(clone.port), snapshot \(clone.snapshot), target \(clone.target)")
        if !state.isRunning { throw ExitCode(1) }
    }
}

struct CloneListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List clones with port, base snapshot and target.",
        discussion: "Examples:\n  pgarchive clone list --status\n  pgarchive clone list --json")
    @OptionGroup var options: ContainerOptions
    @Flag(help: "Also show whether each clone is running.") var status = false
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        let container = try options.open()
        let clones = try container.clones.list()
        if json { print(String(decoding: try JSONOutput.encode(clones), as: UTF8.self)); return }
        for clone in clones {
            let running = status ? " " + (container.clones.state(clone.name).isRunning ? "running" : "stopped").padded(8) : ""
            print("\(clone.name.padded(20)) port=\(String(clone.port).padded(6))\(running) snapshot=\(clone.snapshot) target=\(clone.target)")
        }
    }
}

struct CloneLogCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "log", abstract: "Show the end of a clone's server log, or follow it with -f.",
        discussion: "Examples:\n  pgarchive clone log before-mistake\n  pgarchive clone log -f before-mistake")
    @OptionGroup var options: ContainerOptions
    @Flag(name: .short, help: "Follow the log as it grows.") var follow = false
    @Option(name: .short, help: "Lines to show.") var lines = 40
    @Argument(help: "Clone name.", completion: .cloneNames) var name: String

    func run() async throws {
        let container = try options.open()
        _ = try container.clones.get(name)
        try await showLog(container.clones.logFile(name), lines: lines, follow: follow)
    }
}

struct ClonePsqlCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "psql", abstract: "Open psql on a clone (extra arguments go to psql).",
        discussion: "Examples:\n  pgarchive clone psql before-mistake\n  pgarchive clone psql before-mistake -- -c 'SELECT count(*) FROM orders'")
    @OptionGroup var options: ContainerOptions
    @Argument(help: "Clone name.", completion: .cloneNames) var name: String
    @Argument(parsing: .postTerminator, help: "Arguments for psql.") var psqlArguments: [String] = []

    func run() async throws {
        let container = try options.open()
        let clone = try container.clones.get(name)
        let binaries = try await container.binaries()
        let conninfo = container.cloneConninfo(clone) // quoted: a path or role with spaces stays one value
        var command = try Psql(binaries: binaries, conninfo: conninfo, onErrorStop: false).command
        command.arguments += psqlArguments.first == "--" ? Array(psqlArguments.dropFirst()) : psqlArguments
        let code = try await command.runInteractive()
        if code != 0 { throw ExitCode(code) }
    }
}

struct CloneDuplicateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "duplicate", abstract: "Make clone DST a writable snapshot of clone SRC.",
        discussion: "Examples:\n  pgarchive clone duplicate before-mistake experiment")
    @OptionGroup var options: ContainerOptions
    @Argument(help: "Existing clone.", completion: .cloneNames) var source: String
    @Argument(help: "New clone.") var destination: String

    func run() async throws {
        let container = try options.open()
        let lock = try container.lock(.snapshots, command: "clone duplicate")
        defer { _ = lock }
        let clone = try container.duplicateClone(source, as: destination)
        print("\(clone.name) port=\(clone.port)")
    }
}

struct CloneDeleteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "delete", abstract: "Delete a stopped clone (a running one with --force).",
        discussion: "Examples:\n  pgarchive clone delete before-mistake\n  pgarchive clone delete --force experiment")
    @OptionGroup var options: ContainerOptions
    @Flag(help: "Stop the clone first if it runs.") var force = false
    @Argument(help: "Clone names.", completion: .cloneNames) var names: [String]

    func run() async throws {
        let container = try options.open()
        for name in names { _ = try container.clones.get(name) }
        let lock = try container.lock(.snapshots, command: "clone delete")
        defer { _ = lock }
        for name in names { try await container.deleteClone(name, force: force) }
    }
}
