import Foundation
import XCTest
@testable import Postgres

final class PostgresUnitTests: XCTestCase {
    let pg15 = PostgresBinaries(bindir: "/usr/lib/postgresql/15/bin", majorVersion: 15)

    // MARK: LSN

    func testLSNParsesAndPrintsLikePostgreSQL() throws {
        let lsn = try XCTUnwrap(LSN("16/B374D848"))
        XCTAssertEqual(lsn.value, 0x16_B374_D848)
        XCTAssertEqual(lsn.description, "16/B374D848")
        XCTAssertEqual(LSN("0/0"), .zero)
        XCTAssertEqual(LSN("0/3000028")?.description, "0/3000028")
        XCTAssertEqual(LSN("ffffffff/ffffffff")?.value, UInt64.max)
        XCTAssertEqual(LSN("ffffffff/ffffffff")?.description, "FFFFFFFF/FFFFFFFF")
        XCTAssertEqual(LSN(0x1_0000_0000).description, "1/0")
        for bad in ["", "/", "0/", "/0", "0/3/4", "G/0", "123456789/0", "0x1/0", " 0/0", "0/-1", "0/+1"] {
            XCTAssertNil(LSN(bad), bad)
        }
    }

    func testLSNComparesByPosition() throws {
        let a = try XCTUnwrap(LSN("0/FFFFFFFF"))
        let b = try XCTUnwrap(LSN("1/0"))
        XCTAssertLessThan(a, b)
        XCTAssertEqual([b, a, .zero].sorted(), [.zero, a, b])
        XCTAssertEqual(LSN("a/b"), LSN("A/B"))
    }

    func testLSNCodableAsString() throws {
        struct Holder: Codable, Equatable { var redo: LSN }
        let data = try JSONEncoder().encode(Holder(redo: LSN(0x16_B374_D848)))
        XCTAssertEqual(String(decoding: data, as: UTF8.self), #"{"redo":"16\/B374D848"}"#)
        XCTAssertEqual(try JSONDecoder().decode(Holder.self, from: data), Holder(redo: LSN(0x16_B374_D848)))
        XCTAssertThrowsError(try JSONDecoder().decode(Holder.self, from: Data(#"{"redo":"nope"}"#.utf8)))
    }

    /// Expected values from `pg_walfile_name()` / pg_controldata on PostgreSQL 15, 16 MiB segments.
    func testWALFileNameOfLSN() throws {
        XCTAssertEqual(LSN("0/3000028")?.walFileName(timeline: 1), "000000010000000000000003")
        XCTAssertEqual(LSN("0/3000E20")?.walFileName(timeline: 1), "000000010000000000000003")
        XCTAssertEqual(LSN("16/B374D848")?.walFileName(timeline: 2), "0000000200000016000000B3")
        XCTAssertEqual(LSN("0/4000130")?.walFileName(timeline: 2), "000000020000000000000004")
        // The segment containing the byte (XLByteToSeg). pg_walfile_name('1/A0000000') says
        // …9F because it names the segment of the byte *before* an end location.
        XCTAssertEqual(LSN("1/A0000000")?.walFileName(timeline: 1), "0000000100000001000000A0")
        XCTAssertEqual(LSN("1/9FFFFFFF")?.walFileName(timeline: 1), "00000001000000010000009F")
        XCTAssertEqual(LSN("0/0")?.walFileName(timeline: 1), "000000010000000000000000")
        XCTAssertEqual(LSN("0/3000028")?.segmentNumber(), 3)
        XCTAssertEqual(LSN("1/A0000000")?.segmentNumber(), 0x1A0)
        // 1 GiB segments: 4 per log id.
        XCTAssertEqual(LSN("1/C0000000")?.walFileName(timeline: 3, segmentSize: 1 << 30), "000000030000000100000003")
        XCTAssertEqual(LSN("1/C0000000")?.segmentNumber(segmentSize: 1 << 30), 7)
    }

    // MARK: WALFileName

    func testWALFileNameParsesSegments() throws {
        let plain = try XCTUnwrap(WALFileName.parse("0000000100000001000000A0"))
        XCTAssertEqual(plain.timeline, 1)
        XCTAssertEqual(plain.content, .segment(log: 1, seg: 0xA0))
        XCTAssertFalse(plain.isPartial)
        XCTAssertNil(plain.compression)
        XCTAssertFalse(plain.isHistory)
        XCTAssertEqual(plain.segmentNumber(), 0x1A0)
        XCTAssertEqual(plain.startLSN(), LSN("1/A0000000"))
        XCTAssertEqual(plain.fileName, "0000000100000001000000A0")
        XCTAssertEqual(plain, WALFileName(timeline: 1, segmentNumber: 0x1A0))

        let partial = try XCTUnwrap(WALFileName.parse("000000020000000000000004.partial"))
        XCTAssertTrue(partial.isPartial)
        XCTAssertEqual(partial.baseName, "000000020000000000000004")
        XCTAssertEqual(partial.fileName, "000000020000000000000004.partial")

        for compression in WALFileName.Compression.allCases {
            let name = "00000001000000000000000A" + compression.fileSuffix
            let parsed = try XCTUnwrap(WALFileName.parse(name), name)
            XCTAssertEqual(parsed.compression, compression)
            XCTAssertFalse(parsed.isPartial)
            XCTAssertEqual(parsed.baseName, "00000001000000000000000A")
            XCTAssertEqual(parsed.fileName, name)
        }

        // pg_receivewal --compress writes NAME.gz.partial / NAME.lz4.partial.
        let compressedPartial = try XCTUnwrap(WALFileName.parse("00000001000000000000000B.lz4.partial"))
        XCTAssertEqual(compressedPartial.compression, .lz4)
        XCTAssertTrue(compressedPartial.isPartial)
        XCTAssertEqual(compressedPartial.fileName, "00000001000000000000000B.lz4.partial")
    }

    func testWALFileNameParsesHistoryFiles() throws {
        let history = try XCTUnwrap(WALFileName.parse("00000002.history"))
        XCTAssertTrue(history.isHistory)
        XCTAssertEqual(history.timeline, 2)
        XCTAssertNil(history.segmentNumber())
        XCTAssertEqual(history.fileName, "00000002.history")
        XCTAssertEqual(WALFileName.history(timeline: 0x1F).fileName, "0000001F.history")
    }

    func testWALFileNameRejectsOtherFiles() {
        for name in ["", "archive_status", "00000001000000000000000", "0000000100000000000000001",
                     "00000001000000000000000a", "000000010000000000000003.partial.zst",
                     "000000010000000000000003.bz2", "000000010000000000000002.00000028.backup",
                     "00000002.history.partial", "0000002.history", "xxxxxxxx.history",
                     "000000010000000000000003.tmp", ".partial"] {
            XCTAssertNil(WALFileName.parse(name), name)
        }
        // seg FF does not exist with 1 GiB segments (4 per log id).
        XCTAssertNil(WALFileName.parse("0000000100000000000000FF")?.segmentNumber(segmentSize: 1 << 30))
    }

    // MARK: Conninfo

    func testConninfoParsesKeyValueForm() throws {
        let conninfo = try Conninfo("host=/tmp/pg port=5999 dbname='my db' user=archiver application_name=x")
        XCTAssertEqual(conninfo.value(for: "host"), "/tmp/pg")
        XCTAssertEqual(conninfo.value(for: "port"), "5999")
        XCTAssertEqual(conninfo.value(for: "dbname"), "my db")
        XCTAssertEqual(conninfo.value(for: "user"), "archiver")
        XCTAssertNil(conninfo.value(for: "sslmode"))
        XCTAssertFalse(conninfo.containsPassword)
        // libpq's keyword order, not the input order.
        XCTAssertEqual(conninfo.parameters.map(\.key), ["user", "dbname", "host", "port", "application_name"])
        XCTAssertEqual(conninfo.rendered, "user=archiver dbname='my db' host=/tmp/pg port=5999 application_name=x")
    }

    func testConninfoParsesURIForm() throws {
        let conninfo = try Conninfo("postgresql://archiver@db.example.com:5433/app?sslmode=require")
        XCTAssertEqual(conninfo.value(for: "host"), "db.example.com")
        XCTAssertEqual(conninfo.value(for: "port"), "5433")
        XCTAssertEqual(conninfo.value(for: "dbname"), "app")
        XCTAssertEqual(conninfo.value(for: "user"), "archiver")
        XCTAssertEqual(conninfo.value(for: "sslmode"), "require")
        XCTAssertEqual(try Conninfo(conninfo.rendered), conninfo)
    }

    func testConninfoRejectsBadInputWithLibpqMessage() {
        XCTAssertThrowsError(try Conninfo("mydb")) { error in
            let error = error as! PostgresError
            XCTAssertEqual(error.kind, .invalidInput)
            XCTAssertEqual(error.description, #"invalid connection string: missing "=" after "mydb" in connection info string"#)
        }
        XCTAssertThrowsError(try Conninfo("nosuchkey=1")) { error in
            XCTAssertEqual("\(error)", #"invalid connection string: invalid connection option "nosuchkey""#)
        }
        XCTAssertThrowsError(try Conninfo("host='unterminated")) { error in
            XCTAssertTrue("\(error)".contains("unterminated quoted string"), "\(error)")
        }
    }

    func testConninfoRenderingRoundTripsThroughLibpq() throws {
        let tricky = #"it's a \ "path" with spaces"#
        let conninfo = Conninfo([("host", "/run/postgresql"), ("dbname", tricky), ("user", ""),
                                 ("options", "-c search_path=a,b")])
        XCTAssertEqual(conninfo.rendered,
                       #"host=/run/postgresql dbname='it\'s a \\ "path" with spaces' user='' options='-c search_path=a,b'"#)
        let parsed = try Conninfo(conninfo.rendered)
        XCTAssertEqual(parsed.value(for: "dbname"), tricky)
        XCTAssertEqual(parsed.value(for: "user"), "")
        XCTAssertEqual(parsed.value(for: "options"), "-c search_path=a,b")
    }

    func testConninfoSettingAndRemoving() throws {
        let base = try Conninfo("host=a port=1")
        XCTAssertEqual(base.setting("port", "2").rendered, "host=a port=2")
        XCTAssertEqual(base.setting("dbname", "postgres").rendered, "host=a port=1 dbname=postgres")
        XCTAssertEqual(base.removing("host").rendered, "port=1")
        XCTAssertEqual(base.removing("nothing"), base)
        XCTAssertEqual(Conninfo([("port", "1"), ("host", "x"), ("port", "2")]).rendered, "port=2 host=x")
    }

    func testConninfoPasswordIsRedactedAndRefused() throws {
        let conninfo = try Conninfo("host=db user=u password='s3cr et'")
        XCTAssertTrue(conninfo.containsPassword)
        XCTAssertEqual(conninfo.redacted, "user=u password=******** host=db")
        XCTAssertEqual("\(conninfo)", conninfo.redacted)
        XCTAssertThrowsError(try conninfo.requireNoPassword()) { error in
            let text = "\(error)"
            XCTAssertFalse(text.contains("s3cr"), text)
            XCTAssertTrue(text.contains("~/.pgpass"), text)
            XCTAssertTrue(text.contains("PGPASSFILE"), text)
            XCTAssertTrue(text.contains("password=********"), text)
        }
        let uri = try Conninfo("postgresql://u:hunter2@db/app")
        XCTAssertTrue(uri.containsPassword)
        XCTAssertFalse(uri.redacted.contains("hunter2"))
        XCTAssertNoThrow(try Conninfo("host=db passfile=/etc/pgarchive/pgpass").requireNoPassword())
        XCTAssertNoThrow(try Conninfo("").requireNoPassword())
    }

    // MARK: Replication slot names

    func testReplicationSlotNameValidation() {
        XCTAssertNoThrow(try ReplicationSlot.validateName("pgarchive_main_01"))
        XCTAssertNoThrow(try ReplicationSlot.validateName(String(repeating: "a", count: 63)))
        XCTAssertThrowsError(try ReplicationSlot.validateName(String(repeating: "a", count: 64))) {
            XCTAssertEqual("\($0)", "replication slot name '\(String(repeating: "a", count: 64))' is 64 characters long; the maximum is 63")
        }
        XCTAssertThrowsError(try ReplicationSlot.validateName("")) {
            XCTAssertEqual("\($0)", "a replication slot name must not be empty")
        }
        XCTAssertThrowsError(try ReplicationSlot.validateName("PG-Archive")) {
            XCTAssertEqual("\($0)", "replication slot name 'PG-Archive' may contain only lower-case letters, digits and underscores. HINT: for example 'pg_archive'")
        }
    }
}
