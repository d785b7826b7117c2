import Foundation

/// The exit codes of `wal fetch`, the restore_command of the standby and of every clone.
///
/// PostgreSQL reads any exit status from 1 to 125 as "this file is not in the archive": the
/// standby then waits and asks again, but a clone (and any archive recovery without
/// standby_mode) takes it for the end of the WAL and promotes, with less data than asked for.
/// Only an exit status above 125 (or death by a signal) makes recovery stop with FATAL:
/// RestoreArchivedFile() in src/backend/access/transam/xlogarchive.c (PostgreSQL 13–15;
/// shell_restore.c from 16 on) ends with
/// `ereport(wait_result_is_any_signal(rc, true) ? FATAL : DEBUG2, ...)`, and
/// wait_result_is_any_signal() in src/common/wait_error.c, with include_command_not_found,
/// is true for `WIFEXITED(status) && WEXITSTATUS(status) > 125`.
/// So exit 1 means exactly "not in the archive", and every other failure (an unreadable or
/// malformed pgarchive.conf, /etc/pgarchive.conf or $PGARCHIVE_CONF, a refused permission, an
/// I/O error, a corrupt compressed segment) exits 126 with one line on stderr, which lands
/// in the server's log.
public enum WALFetchExit {
    public static let served: Int32 = 0
    public static let notFound: Int32 = 1
    public static let fatal: Int32 = 126

    /// The exit code for an error thrown anywhere in `wal fetch`, before or during the lookup.
    /// `standby`: the request comes from the standby (no `--partial-ok`), which runs in standby
    /// mode and never ends recovery on a miss: when the container cannot even be opened (a
    /// malformed or refused configuration, which an operator fixes), it waits and asks again
    /// rather than shut down, so its hot-standby sessions survive the mistake. A broken
    /// segment stops it all the same.
    public static func code(for error: any Error, standby: Bool = false) -> Int32 {
        if let fetch = error as? WALArchive.FetchError {
            if case .notFound = fetch { return notFound }
            return fatal
        }
        return standby ? notFound : fatal
    }

    /// The stderr line for an error (nil for "not found", which stays quiet: PostgreSQL asks
    /// for files that do not exist yet all the time).
    public static func message(for error: any Error, file: String, standby: Bool = false) -> String? {
        if let fetch = error as? WALArchive.FetchError, case .notFound = fetch { return nil }
        if code(for: error, standby: standby) == notFound {
            return "pgarchive wal fetch: \(error) (while fetching \(file); exit \(notFound): the standby waits and asks again until this is fixed)"
        }
        return "pgarchive wal fetch: \(error) (while fetching \(file); exit \(fatal), so recovery stops instead of taking this for the end of the archive)"
    }
}
