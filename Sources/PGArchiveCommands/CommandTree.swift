import ArgumentParser

extension PGArchiveCommand {
    /// Every command of the tree as the words typed after `pgarchive` (`[]` is pgarchive
    /// itself), groups included, in the order --help lists them. Tests and the manual's
    /// reference walk this instead of keeping a list by hand.
    public static var commandPaths: [[String]] {
        func walk(_ command: any ParsableCommand.Type, _ path: [String]) -> [[String]] {
            [path] + command.configuration.subcommands.flatMap { walk($0, path + [name(of: $0)]) }
        }
        return walk(self, [])
    }

    /// The commands that do work (no subcommands): each has its entry in the command table
    /// (ContainerOperation) under the same words.
    public static var leafCommandPaths: [[String]] {
        func walk(_ command: any ParsableCommand.Type, _ path: [String]) -> [[String]] {
            let subcommands = command.configuration.subcommands
            return subcommands.isEmpty ? [path] : subcommands.flatMap { walk($0, path + [name(of: $0)]) }
        }
        return walk(self, [])
    }

    private static func name(of command: any ParsableCommand.Type) -> String {
        command.configuration.commandName ?? command._commandName
    }
}
