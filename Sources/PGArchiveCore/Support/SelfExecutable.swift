import Foundation

/// The absolute path of the running pgarchive binary (for restore_command).
public enum SelfExecutable {
    public static var path: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }
}
