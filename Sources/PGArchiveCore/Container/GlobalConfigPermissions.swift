import Foundation

/// The global defaults file (`/etc/pgarchive.conf` or `$PGARCHIVE_CONF`) can set `pg_bindir`,
/// the directory whose programs pgarchive runs as the service user, and the upstream's
/// conninfo. Whoever can write it can run code as the service user, which reaches every
/// container and the `.pgpass`. So it must be writable only by its owner, and its owner must be
/// root or the service user itself.
public enum GlobalConfigPermissions {
    /// The problem with a file of this mode and owner, or nil when it is safe (pure, for tests).
    public static func problem(path: String, mode: mode_t, owner: uid_t, currentUser: uid_t) -> String? {
        let permissions = mode & 0o7777
        let digits = String(permissions, radix: 8)
        let octal = String(repeating: "0", count: max(0, 4 - digits.count)) + digits
        if permissions & 0o022 != 0 {
            return "\(path) has mode \(octal), so other users can change it; it can set pg_bindir (the programs pgarchive runs) and the upstream, so pgarchive refuses to read it: run `chmod go-w \(path)` (as its owner or root)"
        }
        if owner != 0 && owner != currentUser {
            return "\(path) belongs to uid \(owner), neither root nor the user running pgarchive (uid \(currentUser)); it can set pg_bindir (the programs pgarchive runs), so pgarchive refuses to read it: run `chown root \(path)`"
        }
        return nil
    }

    /// Throws when the file exists and another user could have changed it.
    public static func require(_ path: String) throws(PGArchiveError) {
        var info = stat()
        guard stat(path, &info) == 0 else { return } // absent: no defaults; unreadable: reading says so
        if let problem = problem(path: path, mode: info.st_mode, owner: info.st_uid, currentUser: geteuid()) {
            throw PGArchiveError(problem)
        }
    }
}
