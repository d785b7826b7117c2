import Foundation

/// A row of `pg_replication_slots`.
public struct ReplicationSlot: Sendable, Equatable {
    public var name: String
    /// `physical` or `logical`.
    public var slotType: String
    /// Whether a walsender (pg_receivewal, a standby) is streaming from it now.
    public var active: Bool
    public var activePID: Int?
    /// The oldest WAL the slot keeps on the server; `nil` until the slot reserves WAL.
    public var restartLSN: LSN?
    /// `reserved`, `extended`, `unreserved` or `lost` (PostgreSQL 13+; `nil` before, or when
    /// the slot reserves no WAL). `lost` means the server already removed WAL the slot needed.
    public var walStatus: String?

    public init(name: String, slotType: String, active: Bool, activePID: Int?, restartLSN: LSN?, walStatus: String?) {
        self.name = name
        self.slotType = slotType
        self.active = active
        self.activePID = activePID
        self.restartLSN = restartLSN
        self.walStatus = walStatus
    }

    /// Checks a slot name the way the server does (`ReplicationSlotValidateName`): 1–63
    /// characters, lower-case letters, digits and underscores only.
    public static func validateName(_ name: String) throws(PostgresError) {
        guard !name.isEmpty else {
            throw .invalidInput("a replication slot name must not be empty")
        }
        guard name.utf8.count <= 63 else {
            throw .invalidInput("replication slot name '\(name)' is \(name.utf8.count) characters long; the maximum is 63")
        }
        guard name.unicodeScalars.allSatisfy({ ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }) else {
            throw .invalidInput("replication slot name '\(name)' may contain only lower-case letters, digits and underscores",
                                hint: "for example '\(suggestedName(for: name))'")
        }
    }

    private static func suggestedName(for name: String) -> String {
        let mapped = String(name.lowercased().unicodeScalars.map { scalar -> Character in
            ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar) ? Character(scalar) : "_"
        })
        return String(mapped.prefix(63))
    }
}

/// Administrative functions pgarchive calls on the upstream, the standby and clones.
/// Needs PostgreSQL 10 or later (the `*_wal_*` function names).
extension Connection {
    /// Creates a physical replication slot (`pg_create_physical_replication_slot`). With
    /// `reserveWAL` the slot holds WAL from now on, even before pg_receivewal first connects,
    /// and its restart LSN is returned; without it, `nil`.
    @discardableResult
    public func createPhysicalReplicationSlot(_ name: String, reserveWAL: Bool = true) throws(PostgresError) -> LSN? {
        try ReplicationSlot.validateName(name)
        let row = try withContext("creating replication slot '\(name)'") { () throws(PostgresError) in
            try query("SELECT lsn FROM pg_create_physical_replication_slot($1, $2)",
                      [name, reserveWAL ? "true" : "false"]).singleRow()
        }
        return try row.optionalLSN("lsn")
    }

    /// Drops a replication slot. With `ifExists`, a missing slot is not an error. A slot that is
    /// in use (pg_receivewal still streaming) cannot be dropped: SQLSTATE 55006.
    public func dropReplicationSlot(_ name: String, ifExists: Bool = false) throws(PostgresError) {
        try ReplicationSlot.validateName(name)
        if ifExists, try replicationSlot(named: name) == nil { return }
        try withContext("dropping replication slot '\(name)'") { () throws(PostgresError) in
            try execute("SELECT pg_drop_replication_slot($1)", [name])
        }
    }

    /// The slot named `name`, or `nil` when there is none.
    public func replicationSlot(named name: String) throws(PostgresError) -> ReplicationSlot? {
        try ReplicationSlot.validateName(name)
        // wal_status appeared in PostgreSQL 13.
        let walStatus = serverVersionNumber >= 130000 ? "wal_status" : "NULL::text AS wal_status"
        let result = try query("""
            SELECT slot_name, slot_type, active, active_pid, restart_lsn, \(walStatus)
            FROM pg_replication_slots WHERE slot_name = $1
            """, [name])
        guard let row = result.rows.first else { return nil }
        return ReplicationSlot(
            name: try row.string("slot_name"),
            slotType: try row.string("slot_type"),
            active: try row.bool("active"),
            activePID: try row.optionalString("active_pid") == nil ? nil : try row.int("active_pid"),
            restartLSN: try row.optionalLSN("restart_lsn"),
            walStatus: try row.optionalString("wal_status"))
    }

    /// `pg_create_restore_point(name)`: writes a named restore point into the WAL (on a
    /// primary) and returns its location. A clone can later recover to exactly this point.
    @discardableResult
    public func createRestorePoint(_ name: String) throws(PostgresError) -> LSN {
        try withContext("creating restore point '\(name)'") { () throws(PostgresError) in
            try query("SELECT pg_create_restore_point($1) AS lsn", [name]).singleRow().lsn("lsn")
        }
    }

    /// `pg_is_in_recovery()`: true on a standby and on a clone that is not promoted yet.
    /// The cluster's database system identifier (as in pg_controldata), as text.
    public func systemIdentifier() throws(PostgresError) -> String {
        try query("SELECT system_identifier::text AS id FROM pg_control_system()").singleRow().string("id")
    }

    public func isInRecovery() throws(PostgresError) -> Bool {
        try query("SELECT pg_is_in_recovery() AS recovery").singleRow().bool("recovery")
    }

    /// `CHECKPOINT`. On a hot standby this forces a restartpoint at the last replayed upstream
    /// checkpoint, which is why pgarchive runs it right before snapshotting the standby: a clone
    /// of the snapshot then replays only the WAL since that checkpoint.
    public func checkpoint() throws(PostgresError) {
        try withContext("CHECKPOINT") { () throws(PostgresError) in try execute("CHECKPOINT") }
    }

    /// `current_setting(name)`, e.g. `wal_level` → `replica`, `wal_segment_size` → `16MB`.
    public func currentSetting(_ name: String) throws(PostgresError) -> String {
        try withContext("reading setting \(name)") { () throws(PostgresError) in
            try query("SELECT current_setting($1) AS value", [name]).singleRow().string("value")
        }
    }

    /// The newest WAL location of the server: `pg_current_wal_lsn()` on a primary; on a
    /// standby the later of what it has received by streaming and what it has replayed
    /// (a standby fed only by `restore_command` has received nothing by streaming).
    public func currentWALLSN() throws(PostgresError) -> LSN {
        try query("""
            SELECT CASE WHEN pg_is_in_recovery()
                        THEN greatest(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())
                        ELSE pg_current_wal_lsn() END AS lsn
            """).singleRow("the current WAL location").lsn("lsn")
    }

    /// `pg_last_wal_replay_lsn()`: how far a standby has replayed; `nil` on a primary (or a
    /// standby that has not replayed anything since it started).
    public func lastReplayLSN() throws(PostgresError) -> LSN? {
        try query("SELECT pg_last_wal_replay_lsn() AS lsn").singleRow().optionalLSN("lsn")
    }

    /// `pg_last_xact_replay_timestamp()`: the commit time of the last transaction a standby
    /// replayed, i.e. how current it is; `nil` on a primary or before the first replayed commit.
    public func lastTransactionReplayTimestamp() throws(PostgresError) -> Date? {
        // Epoch seconds avoid depending on the session's DateStyle and TimeZone.
        let row = try query("SELECT extract(epoch FROM pg_last_xact_replay_timestamp())::text AS epoch").singleRow()
        guard try row.optionalString("epoch") != nil else { return nil }
        return Date(timeIntervalSince1970: try row.double("epoch"))
    }

    /// `pg_switch_wal()`: closes the current WAL segment (so it can be archived complete) and
    /// returns the end location of the switch record. Only on a primary.
    @discardableResult
    public func switchWAL() throws(PostgresError) -> LSN {
        try withContext("pg_switch_wal()") { () throws(PostgresError) in
            try query("SELECT pg_switch_wal() AS lsn").singleRow().lsn("lsn")
        }
    }

    @discardableResult
    private func withContext<T>(_ context: String, _ body: () throws(PostgresError) -> T) throws(PostgresError) -> T {
        do {
            return try body()
        } catch {
            throw error.kind == .connectionLost ? error : error.adding(context: context)
        }
    }
}
