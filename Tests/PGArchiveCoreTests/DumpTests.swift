import Foundation
@testable import PGArchiveCore
import Postgres
import XCTest

final class DumpTests: XCTestCase {
    func run(_ name: String, _ database: String = "db") -> DumpRun {
        let date = DumpStore.parseRunName(name)!
        return DumpRun(database: database, name: name, source: "upstream", dataAsOf: date, startedAt: date, finishedAt: date,
                       jobs: 2, pgDumpCompression: false, serverVersion: "15", size: 1, files: 1, sharedFiles: 0,
                       pgarchiveVersion: "test")
    }

    func testEscapingIsReversibleAndSafe() {
        let names = ["app", "my db", "it's \"quoted\"", "../etc", ".hidden", "a/b", "100%", "Größe", "x:y+z-_.", "日本"]
        for name in names {
            let escaped = DumpStore.escape(name)
            XCTAssertFalse(escaped.contains("/"), escaped)
            XCTAssertFalse(escaped.hasPrefix("."), escaped)
            XCTAssertNoThrow(try ObjectName.validate(escaped.replacingOccurrences(of: "%", with: "_"), kind: "dump"), escaped)
            XCTAssertEqual(DumpStore.unescape(escaped), name)
        }
        XCTAssertEqual(DumpStore.escape("app"), "app")
        XCTAssertEqual(DumpStore.escape("my db's"), "my%20db%27s")
        XCTAssertEqual(DumpStore.escape("../x"), "%2E.%2Fx")
        XCTAssertEqual(DumpStore.escape("100%"), "100%25")
        // Directory names escape never writes are not databases.
        XCTAssertNil(DumpStore.unescape(".incomplete-x-1"))
        XCTAssertNil(DumpStore.unescape("a b"))
        XCTAssertNil(DumpStore.unescape("%2"))
        XCTAssertNil(DumpStore.unescape("%zz"))
        XCTAssertNil(DumpStore.unescape("%61")) // "a" is written plainly
    }

    func testRunNames() {
        let date = Date(timeIntervalSince1970: 1_795_248_900) // 2026-11-21T08:15:00Z
        XCTAssertEqual(DumpStore.runName(date), "2026-11-21T08:15:00Z")
        XCTAssertEqual(DumpStore.parseRunName("2026-11-21T08:15:00Z"), date)
        XCTAssertNil(DumpStore.parseRunName(".incomplete-2026-11-21T08:15:00Z-12"))
        XCTAssertNil(DumpStore.parseRunName("2026-11-21 08:15:00"))
        XCTAssertNil(DumpStore.parseRunName("globals.sql"))
        XCTAssertEqual(DumpStore.leftoverPID("/c/dumps/db/.incomplete-2026-11-21T08:15:00Z-4242"), 4242)
    }

    func testSelectionByTime() throws {
        let runs = [run("2026-11-21T08:00:00Z"), run("2026-11-23T08:00:00Z"), run("2026-11-22T08:00:00Z")]
        func at(_ text: String?) throws -> String {
            try DumpStore.select(runs, at: text.map { try TargetTimeParser.parse($0, localTimeZone: TimeZone(identifier: "UTC")!) }, database: "db").name
        }
        XCTAssertEqual(try at(nil), "2026-11-23T08:00:00Z")
        XCTAssertEqual(try at("2026-11-22T08:00:00Z"), "2026-11-22T08:00:00Z") // at counts
        XCTAssertEqual(try at("2026-11-22T07:59:59Z"), "2026-11-21T08:00:00Z")
        XCTAssertEqual(try at("2026-11-22T12:00:00Z"), "2026-11-22T08:00:00Z")
        XCTAssertEqual(try at("2030-01-01T00:00:00Z"), "2026-11-23T08:00:00Z")
        XCTAssertThrowsError(try at("2026-11-20T00:00:00Z")) { error in
            XCTAssertTrue("\(error)".contains("no dump of database 'db' at or before 2026-11-20T00:00:00Z; the oldest is 2026-11-21T08:00:00Z"), "\(error)")
        }
        XCTAssertThrowsError(try DumpStore.select([], at: nil, database: "x"))
    }

    func testExpirePlanKeepsNewest() {
        let runs = (1...5).map { run("2026-11-2\($0)T08:00:00Z") }.shuffled()
        XCTAssertEqual(DumpStore.expirePlan(runs, keep: 2).map(\.name),
                       ["2026-11-21T08:00:00Z", "2026-11-22T08:00:00Z", "2026-11-23T08:00:00Z"])
        XCTAssertEqual(DumpStore.expirePlan(runs, keep: 5), [])
        XCTAssertEqual(DumpStore.expirePlan(runs, keep: 7), [])
        XCTAssertEqual(DumpStore.expirePlan(runs, keep: 1).count, 4)
    }

    func testExpirePlanByAgeNeverDeletesTheNewest() throws {
        let runs = (1...5).map { run("2026-11-2\($0)T08:00:00Z") }
        let limit = try TargetTimeParser.parse("2026-11-23T00:00:00Z")
        // Count keeps 4, age removes the two started before the 23rd.
        XCTAssertEqual(DumpStore.expirePlan(runs, keep: 4, olderThan: limit).map(\.name),
                       ["2026-11-21T08:00:00Z", "2026-11-22T08:00:00Z"])
        // Everything is old: the newest run still stays.
        let all = DumpStore.expirePlan(runs, keep: 10, olderThan: try TargetTimeParser.parse("2030-01-01T00:00:00Z"))
        XCTAssertEqual(all.count, 4)
        XCTAssertFalse(all.map(\.name).contains("2026-11-25T08:00:00Z"))
    }

    func testStoreListsOnlyCompleteRunsAndFindsLeftovers() throws {
        let root = NSTemporaryDirectory() + "dumptests-\(getpid())-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let layout = ContainerLayout(root: root)
        let store = DumpStore(layout: layout)
        let fm = FileManager.default
        let complete = store.runDirectory("my db", "2026-11-21T08:00:00Z")
        try fm.createDirectory(atPath: complete, withIntermediateDirectories: true)
        try SnapshotStore.encoder.encode(run("2026-11-21T08:00:00Z", "my db")).write(to: URL(fileURLWithPath: complete + "/" + DumpStore.metadataFile))
        try fm.createDirectory(atPath: store.runDirectory("my db", "2026-11-22T08:00:00Z"), withIntermediateDirectories: true) // no metadata
        try fm.createDirectory(atPath: store.databaseDirectory("my db") + "/.incomplete-2026-11-23T08:00:00Z-999999", withIntermediateDirectories: true)
        XCTAssertEqual(store.databases(), ["my db"])
        XCTAssertEqual(store.runs("my db").map(\.name), ["2026-11-21T08:00:00Z"])
        XCTAssertEqual(store.leftovers().map { ($0 as NSString).lastPathComponent }, [".incomplete-2026-11-23T08:00:00Z-999999"])
        XCTAssertThrowsError(try store.requireRuns("other")) { error in
            XCTAssertTrue("\(error)".contains("there are no dumps of database 'other'; dumped databases: 'my db'"), "\(error)")
        }
    }

    func testSharingReplacesOnlyIdenticalFiles() throws {
        let root = NSTemporaryDirectory() + "dumpshare-\(getpid())-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let old = root + "/old", new = root + "/new"
        try FileManager.default.createDirectory(atPath: old, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: new, withIntermediateDirectories: true)
        func put(_ path: String, _ text: String) throws { try Data(text.utf8).write(to: URL(fileURLWithPath: path)) }
        try put(old + "/1.dat", "same content")
        try put(new + "/1.dat", "same content")
        try put(old + "/2.dat", "abcdef")
        try put(new + "/2.dat", "abcdeX") // same size, other content
        try put(old + "/3.dat", "renamed")
        try put(new + "/4.dat", "renamed") // same content under another name
        try put(new + "/toc.dat", "toc")
        XCTAssertEqual(try DumpSpace.shareUnchangedFiles(in: new, previous: old), 2)
        XCTAssertEqual(try String(contentsOfFile: new + "/2.dat", encoding: .utf8), "abcdeX")
        XCTAssertEqual(try String(contentsOfFile: new + "/4.dat", encoding: .utf8), "renamed")
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: new)), ["1.dat", "2.dat", "4.dat", "toc.dat"])
    }

    func testPgRestoreArguments() throws {
        let binaries = PostgresBinaries(bindir: "/usr/lib/postgresql/15/bin", majorVersion: 15)
        let script = try PgRestore(binaries: binaries, directory: "/c/dumps/db/R", conninfo: nil).command
        XCTAssertEqual(script.arguments, ["-f", "-", "/c/dumps/db/R"])
        let restore = try PgRestore(binaries: binaries, directory: "/d", conninfo: "dbname=x", tables: ["t", "u"], jobs: 3, extra: ["--no-owner"]).command
        XCTAssertEqual(restore.arguments, ["-d", "dbname=x", "--no-password", "--jobs=3", "-t", "t", "-t", "u", "--no-owner", "/d"])
        XCTAssertThrowsError(try PgRestore(binaries: binaries, directory: "/d", conninfo: "dbname=x password=secret").command) { error in
            XCTAssertTrue("\(error)".contains("contains a password"), "\(error)")
        }
    }
}
