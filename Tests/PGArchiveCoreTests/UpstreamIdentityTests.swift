import Foundation
@testable import PGArchiveCore
import XCTest

/// Major upgrades of the upstream and the version-specific readings of PostgreSQL's views
/// (issue 15), without servers.
final class UpstreamIdentityTests: XCTestCase {
    func status() throws -> ContainerStatus {
        try JSONDecoder().decode(ContainerStatus.self, from: Data("""
            {"container": "/srv/c", "retired": false, "missingSegments": [],
             "receiver": {"state": "stopped", "detail": "stopped"},
             "standby": {"state": "running", "pid": 11, "detail": "running (pid 11)"},
             "upstreamReachable": true, "schemaVersion": 1, "cronRuns": [], "snapshotCount": 1,
             "cloneCount": 0, "clonesRunning": 0, "walArchiveBytes": 0, "health": "ok", "problems": []}
            """.utf8))
    }

    func testTheRecordedClusterIsNoChange() {
        XCTAssertNil(UpstreamChange.compare(recordedMajorVersion: 16, recordedSystemIdentifier: "7714515321418920334", upstreamMajorVersion: 16,
                                            upstreamServerVersion: "16.2", upstreamSystemIdentifier: "7714515321418920334", container: "/srv/c"))
        // A container from before system_identifier was recorded compares the version only.
        XCTAssertNil(UpstreamChange.compare(recordedMajorVersion: 16, recordedSystemIdentifier: "", upstreamMajorVersion: 16,
                                            upstreamServerVersion: "16.2", upstreamSystemIdentifier: "1", container: "/srv/c"))
    }

    func testAMajorUpgradeNamesTheResyncCommandAndIsCritical() throws {
        let change = try XCTUnwrap(UpstreamChange.compare(recordedMajorVersion: 16, recordedSystemIdentifier: "7714515321418920334", upstreamMajorVersion: 18,
                                                          upstreamServerVersion: "18.6", upstreamSystemIdentifier: "7714515595841152301", container: "/srv/c"))
        XCTAssertTrue(change.isMajorUpgrade)
        XCTAssertEqual(change.remedy, "pgarchive container resync -C /srv/c --pg-bindir <PostgreSQL 18 bin directory>")
        XCTAssertTrue(change.message.contains("PostgreSQL 18.6 with system identifier 7714515595841152301"), change.message)
        XCTAssertTrue(change.message.contains("restorable with PostgreSQL 16's tools"), change.message)

        var s = try status()
        s.slotActive = true
        s.upstreamChange = change
        s.evaluate()
        XCTAssertEqual(s.health, .down)
        XCTAssertEqual(s.problems.first, change.message)
        let results = HealthCheck.evaluate(s, oldestSnapshotRedoPresent: true, limits: .init())
        let identity = try XCTUnwrap(results.first { $0.name == "upstream identity" })
        XCTAssertEqual(identity.level, .critical)
        XCTAssertTrue(identity.detail.contains(change.remedy), identity.detail)
        XCTAssertEqual(HealthCheck.overall(results), .critical)
        XCTAssertTrue(s.rendered().contains("upstream CHANGED: PostgreSQL 16 → 18.6, system identifier 7714515321418920334 → 7714515595841152301"), s.rendered())
        // Retired, nothing streams anyway.
        s.retired = true
        s.evaluate()
        XCTAssertFalse(s.problems.contains(change.message))
    }

    func testAnotherClusterOfTheSameVersionIsRetiredNotResynced() throws {
        let change = try XCTUnwrap(UpstreamChange.compare(recordedMajorVersion: 16, recordedSystemIdentifier: "1", upstreamMajorVersion: 16,
                                                          upstreamServerVersion: "16.2", upstreamSystemIdentifier: "2", container: "/srv/c"))
        XCTAssertFalse(change.isMajorUpgrade)
        XCTAssertTrue(change.remedy.hasPrefix("pgarchive container retire -C /srv/c"), change.remedy)
        XCTAssertTrue(change.message.contains("another database system"), change.message)
    }

    func testSnapshotMetadataFromBeforeRecordsNoVersion() throws {
        let json = """
            {"name": "2026-11-21T08:15:00Z", "takenAt": "2026-11-21T08:15:01.000000Z", "redoLSN": "0/2000028",
             "redoWALFile": "000000010000000000000002", "timeline": 1, "checkpointTime": "2026-11-21T08:15:00.000000Z",
             "consistentFrom": "2026-11-21T08:15:01.000000Z", "systemIdentifier": "1", "walSegmentSize": 16777216,
             "pgarchiveVersion": "0.9"}
            """
        var metadata = try SnapshotStore.decoder.decode(SnapshotMetadata.self, from: Data(json.utf8))
        XCTAssertNil(metadata.pgMajorVersion)
        XCTAssertNil(metadata.pgBindir)
        metadata.pgMajorVersion = 16
        metadata.pgBindir = "/opt/pg16/bin"
        let again = try SnapshotStore.decoder.decode(SnapshotMetadata.self, from: try SnapshotStore.encoder.encode(metadata))
        XCTAssertEqual(again.pgMajorVersion, 16)
        XCTAssertEqual(again.pgBindir, "/opt/pg16/bin")
    }

    /// PostgreSQL 18's idle_replication_slot_timeout invalidates a slot with reason
    /// idle_timeout: the advice names the setting, not max_slot_wal_keep_size.
    func testAnIdleTimeoutInvalidationIsExplainedAsSuch() throws {
        var s = try status()
        s.slotActive = false
        s.slotWALStatus = "lost"
        s.slotInvalidationReason = "idle_timeout"
        let detail = SlotRetention.lostAdvice(s)
        XCTAssertTrue(detail.contains("idle_replication_slot_timeout") && detail.contains("invalidation_reason idle_timeout"), detail)
        XCTAssertFalse(detail.contains("max_slot_wal_keep_size exceeded"), detail)
        s.slotInvalidationReason = "wal_removed"
        XCTAssertTrue(SlotRetention.lostAdvice(s).contains("invalidation_reason wal_removed, max_slot_wal_keep_size exceeded"), SlotRetention.lostAdvice(s))
        s.slotInvalidationReason = nil
        XCTAssertTrue(SlotRetention.lostAdvice(s).contains("(wal_status lost, max_slot_wal_keep_size exceeded)"), SlotRetention.lostAdvice(s))
    }
}

/// After pg_upgrade the new cluster's first segment has the name of the old cluster's last
/// one (pg_upgrade continues the old WAL file names); the old copy is in
/// `before-resync-*`. A requester gets the segment of its own database system.
final class SystemIdentifierFetchTests: XCTestCase {
    func segment(systemIdentifier: UInt64) -> Data {
        var bytes = Data(count: 1 << 16)
        bytes[0] = 0x10
        bytes[1] = 0xD1 // XLOG_PAGE_MAGIC, little-endian
        bytes[2] = 0x02 // XLP_LONG_HEADER
        withUnsafeBytes(of: systemIdentifier.littleEndian) { bytes.replaceSubrange(24..<32, with: $0) }
        return bytes
    }

    func testTheSegmentOfTheRequestersSystemIsServed() throws {
        let dir = NSTemporaryDirectory() + "sysid-fetch-\(getpid())-\(UUID().uuidString)"
        let before = dir + "/before-resync-2026-12-02T01:00:00Z"
        try FileManager.default.createDirectory(atPath: before, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let name = "000000010000000000000009"
        let old: UInt64 = 7_714_515_321_418_920_334, new: UInt64 = 7_714_515_595_841_152_301
        XCTAssertTrue(FileManager.default.createFile(atPath: dir + "/" + name, contents: segment(systemIdentifier: new)))
        XCTAssertTrue(FileManager.default.createFile(atPath: before + "/" + name + ".partial", contents: segment(systemIdentifier: old)))
        XCTAssertEqual(WALArchive.segmentSystemIdentifier(dir + "/" + name), new)
        let archive = WALArchive(directory: dir)
        let out = dir + "/out"

        // A clone of a snapshot from before the upgrade: the old cluster's partial segment.
        XCTAssertEqual(try archive.fetch(name, to: out, partialOK: true, systemIdentifier: old), before + "/" + name + ".partial")
        XCTAssertEqual(FileManager.default.contents(atPath: out), segment(systemIdentifier: old))
        // The old standby (no partial segments) finds none of its own: the end of its WAL.
        XCTAssertThrowsError(try archive.fetch(name, to: out, partialOK: false, systemIdentifier: old)) { error in
            guard case WALArchive.FetchError.notFound = error else { return XCTFail("\(error)") }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out), "another system's segment is not left behind")
        // The new standby, and a requester that does not say (`wal fetch` outside a data directory).
        XCTAssertEqual(try archive.fetch(name, to: out, partialOK: false, systemIdentifier: new), dir + "/" + name)
        XCTAssertEqual(try archive.fetch(name, to: out, partialOK: true), dir + "/" + name)
    }

    func testADataDirectorysSystemIdentifierIsReadFromPgControl() throws {
        let dir = NSTemporaryDirectory() + "sysid-control-\(getpid())-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir + "/global", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        XCTAssertNil(WALArchive.systemIdentifier(dataDirectory: dir))
        var control = Data(count: 8192)
        withUnsafeBytes(of: UInt64(7_714_515_321_418_920_334).littleEndian) { control.replaceSubrange(0..<8, with: $0) }
        XCTAssertTrue(FileManager.default.createFile(atPath: dir + "/global/pg_control", contents: control))
        XCTAssertEqual(WALArchive.systemIdentifier(dataDirectory: dir), 7_714_515_321_418_920_334)
    }
}
