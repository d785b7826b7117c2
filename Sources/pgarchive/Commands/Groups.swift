import ArgumentParser

// Command groups whose verbs arrive with later issues; each states its purpose so
// `pgarchive --help` shows the whole shape of the tool.

struct DumpCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dump",
        abstract: "Logical dumps of every database, restorable per table.")
}
