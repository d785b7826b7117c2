import Foundation

// The PostgreSQL programs pgarchive runs, as values whose `command` is the exact argv.
//
// Connection strings are passed with `-d`, i.e. on the command line, where `ps` shows them
// to every user: every builder that takes one refuses a connection string that carries a
// password (invariant 7). Passwords come from ~/.pgpass, PGPASSFILE or the environment.

// One file per tool or family: PgBaseBackup, PgReceiveWAL, PgCtl, ClusterTools (initdb,
// pg_controldata, pg_isready), ClientTools (psql, pg_amcheck), DumpTools (pg_dump, pg_dumpall,
// pg_restore).

/// Checks a connection string before it goes on a command line.
func checkedConninfo(_ conninfo: String) throws(PostgresError) -> String {
    try Conninfo(conninfo).requireNoPassword()
    return conninfo
}
