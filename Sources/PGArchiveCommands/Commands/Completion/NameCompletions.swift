import ArgumentParser
import PGArchiveCore

/// Dynamic completion of the names of the container on the command line being completed
/// (`-C PATH`, `--container PATH`, `--container=PATH`, else `$PGARCHIVE`). The generated
/// script calls `pgarchive ---completion …` on TAB; these closures run inside argument
/// parsing, so they only list directories (CompletionNames), never open the container,
/// connect to a server or refuse root, and give no names (and no output) on any problem.
extension CompletionKind {
    static var snapshotNames: CompletionKind { .custom(NameCompletion.snapshots) }
    static var cloneNames: CompletionKind { .custom(NameCompletion.clones) }
    static var restorePointNames: CompletionKind { .custom(NameCompletion.restorePoints) }
    /// Databases with dumps under `dumps/<db>/`, for the dump commands.
    static var databaseNames: CompletionKind { .custom(NameCompletion.databases) }
}

enum NameCompletion {
    // Named synchronous functions, not closure literals: `custom` also has an async overload,
    // and pgarchive parses synchronously (`parseAsRoot`), which only runs sync completions.
    @Sendable static func snapshots(_ words: [String], _ index: Int, _ prefix: String) -> [String] {
        CompletionNames.candidates(.snapshots, words: words, index: index, prefix: prefix)
    }

    @Sendable static func clones(_ words: [String], _ index: Int, _ prefix: String) -> [String] {
        CompletionNames.candidates(.clones, words: words, index: index, prefix: prefix)
    }

    @Sendable static func restorePoints(_ words: [String], _ index: Int, _ prefix: String) -> [String] {
        CompletionNames.candidates(.restorePoints, words: words, index: index, prefix: prefix)
    }

    @Sendable static func databases(_ words: [String], _ index: Int, _ prefix: String) -> [String] {
        CompletionNames.candidates(.databases, words: words, index: index, prefix: prefix)
    }
}
