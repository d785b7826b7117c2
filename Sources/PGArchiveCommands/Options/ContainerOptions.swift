import ArgumentParser
import Foundation
import Logging
import PGArchiveCore

/// Options every command that works on a container takes.
struct ContainerOptions: ParsableArguments {
    @Option(name: [.customShort("C"), .customLong("container")],
            help: ArgumentHelp("The container directory (default: $PGARCHIVE).", valueName: "path"),
            completion: .directory)
    var container: String?

    @Flag(name: [.short, .long], help: "Log debugging detail to stderr.")
    var verbose = false

    /// The container path from the option or `$PGARCHIVE`, with a clear error when neither is set.
    func containerPath() throws -> String {
        if let container, !container.isEmpty { return container }
        if let env = ProcessInfo.processInfo.environment["PGARCHIVE"], !env.isEmpty { return env }
        throw PGArchiveError("no container given: pass --container/-C PATH or set PGARCHIVE=PATH")
    }

    /// Refuses root, sets up logging and opens an existing container.
    func open() throws -> Container {
        try startup()
        return try Container.open(path: containerPath())
    }

    /// Refuses root, sets up logging, then runs `operation` in PGArchiveCore: it opens the
    /// container, runs `beforeLock`, takes the lock the command table declares (`wait`: or
    /// exit 75 at once when it is held), runs `work` and releases the lock.
    @discardableResult
    func run<T>(_ operation: ContainerOperation, detail: String? = nil, wait: Bool = true,
                beforeLock: (Container) throws -> Void = { _ in },
                _ work: (Container) async throws -> T) async throws -> T {
        try startup()
        return try await operation.run(container: try containerPath(), detail: detail, wait: wait, beforeLock: beforeLock, work)
    }

    var logger: Logger { Logger(label: "pgarchive") }

    /// Refuses root and sets up logging, for commands that do not open a container yet.
    func startup() throws {
        try RootCheck.refuse(effectiveUID: geteuid())
        PGArchiveLogging.bootstrap(verbose: verbose)
    }
}
