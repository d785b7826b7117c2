import ArgumentParser
import PGArchiveCore

struct ContainerInitCronCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "initcron",
        abstract: "Add this container's cron jobs to your crontab (commented out unless --enable); running it again changes nothing.",
        discussion: "Examples:\n  pgarchive container initcron\n  pgarchive container initcron --enable")
    @OptionGroup var options: ContainerOptions
    @Flag(help: "Install the entries active rather than commented out.") var enable = false

    func run() async throws {
        print(try await options.run(.containerInitCron) { try await $0.installCron(enable: enable) })
    }
}
