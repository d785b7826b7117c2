import ArgumentParser
import PGArchiveCore

struct WALStartCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "start", abstract: "Start pg_receivewal.",
        discussion: "Examples:\n  pgarchive wal start")
    @OptionGroup var options: ContainerOptions

    func run() async throws {
        let container = try options.open()
        guard !container.isRetired else { throw PGArchiveError("container is retired; `pgarchive container resync` first") }
        let lock = try container.lock(.container, command: "wal start")
        defer { _ = lock }
        try await container.receiver.start(binaries: container.binaries(), logger: container.logger)
    }
}

struct WALStopCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stop", abstract: "Stop pg_receivewal (the slot keeps the upstream's WAL meanwhile).",
        discussion: "Examples:\n  pgarchive wal stop")
    @OptionGroup var options: ContainerOptions

    func run() async throws {
        let container = try options.open()
        let lock = try container.lock(.container, command: "wal stop")
        defer { _ = lock }
        container.receiver.stop(logger: container.logger)
    }
}

struct WALStatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Show whether pg_receivewal runs; exit 1 if not.",
        discussion: "Examples:\n  pgarchive wal status")
    @OptionGroup var options: ContainerOptions

    func run() async throws {
        let container = try options.open()
        let state = container.receiver.state()
        print("pg_receivewal: \(state)")
        if !state.isRunning { throw ExitCode(1) }
    }
}

struct WALLogCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "log", abstract: "Show the end of pg_receivewal's log, or follow it with -f.",
        discussion: "Examples:\n  pgarchive wal log\n  pgarchive wal log -f")
    @OptionGroup var options: ContainerOptions
    @Flag(name: .short, help: "Follow the log as it grows.") var follow = false
    @Option(name: .short, help: "Lines to show.") var lines = 40

    func run() async throws {
        let container = try options.open()
        try await showLog(container.layout.receiverLog, lines: lines, follow: follow)
    }
}
