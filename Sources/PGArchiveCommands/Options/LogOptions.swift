import ArgumentParser

/// `-f` and `-l` of the log commands (`wal log`, `standby log`, `clone log`).
struct LogOptions: ParsableArguments {
    @Flag(name: .short, help: "Follow the log as it grows.") var follow = false
    @Option(name: .short, help: "Lines to show.") var lines = 40
}
