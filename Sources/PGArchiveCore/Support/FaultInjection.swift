import Foundation

/// A test hook for the fault suite: named points in the middle of operations that must
/// survive `kill -9` (snapshot create and delete, expire, clone create, WAL compression).
///
/// With `PGARCHIVE_TEST_PAUSE_AT=<point>` in the environment, the process that reaches that
/// point writes its pid to `PGARCHIVE_TEST_PAUSE_FILE` (if set), says so on stderr and sleeps
/// until it is killed, so a test can kill it exactly there. Without the variable a point
/// costs one environment lookup. Nothing else reads these variables.
public enum FaultInjection {
    public static let pauseVariable = "PGARCHIVE_TEST_PAUSE_AT"
    public static let pauseFileVariable = "PGARCHIVE_TEST_PAUSE_FILE"

    public static func point(_ name: String) {
        let environment = ProcessInfo.processInfo.environment
        guard let wanted = environment[pauseVariable], wanted == name else { return }
        if let file = environment[pauseFileVariable], !file.isEmpty {
            try? AtomicFile.write("\(getpid())\n", to: file)
        }
        FileHandle.standardError.write(Data("pgarchive: test pause at \(name) (pid \(getpid())); waiting to be killed\n".utf8))
        while true { sleep(3600) }
    }
}
