import Foundation

/// The one error type pgarchive shows to people. Its message says what failed, with which
/// name, and what to do next; `exitCode` is what the process exits with.
public struct PGArchiveError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var exitCode: Int32

    public init(_ message: String, exitCode: Int32 = 1) {
        self.message = message
        self.exitCode = exitCode
    }

    public var description: String { message }

    /// Exit code for "temporary failure, try again later" (EX_TEMPFAIL), e.g. a held lock.
    public static let temporaryFailureExitCode: Int32 = 75
}

/// Refuses to run as root: PostgreSQL will not, and files created by root would be
/// unusable by the service user.
public enum RootCheck {
    public static func refuse(effectiveUID: UInt32, serviceUser: String = "postgres") throws(PGArchiveError) {
        if effectiveUID == 0 {
            throw PGArchiveError(
                "pgarchive must not run as root; run it as the service user that owns the container, e.g. `runuser -u \(serviceUser) -- pgarchive …` or `sudo -u \(serviceUser) pgarchive …`")
        }
    }
}
