import Foundation

/// SIGINT / SIGTERM as a request to stop at the next safe point, for work that must clean
/// up after itself (container init rolls back what it created, the upstream's slot
/// included). Only a flag is set in the handler; children started afterwards get the
/// default action again when they exec, so Ctrl-C still stops pg_basebackup at once and
/// its failure leads to the same rollback.
public enum Interruption {
    nonisolated(unsafe) private static var received: sig_atomic_t = 0

    public static func catchSignals() {
        received = 0
        signal(SIGINT) { sig in Interruption.record(sig) }
        signal(SIGTERM) { sig in Interruption.record(sig) }
    }

    public static func restoreDefaults() {
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
    }

    private static func record(_ sig: Int32) { received = sig }

    /// Throws if a signal arrived since `catchSignals()`.
    public static func check() throws(PGArchiveError) {
        let sig = received
        if sig != 0 {
            throw PGArchiveError("interrupted by \(sig == SIGINT ? "SIGINT" : "SIGTERM")", exitCode: 128 + sig)
        }
    }
}
