import ArgumentParser
import PGArchiveCore

struct ContainerStartCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "start", abstract: "Start pg_receivewal and the standby (whichever is not running).",
        discussion: "Examples:\n  pgarchive container start")

    @OptionGroup var options: ContainerOptions

    func run() async throws {
        let container = try options.open()
        let lock = try container.lock(.container, command: "container start")
        defer { _ = lock }
        try await container.start()
    }
}

struct ContainerStopCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stop", abstract: "Stop the standby and pg_receivewal (the slot keeps the upstream's WAL meanwhile).",
        discussion: "Examples:\n  pgarchive container stop")

    @OptionGroup var options: ContainerOptions

    func run() async throws {
        let container = try options.open()
        let lock = try container.lock(.container, command: "container stop")
        defer { _ = lock }
        try await container.stop()
    }
}
