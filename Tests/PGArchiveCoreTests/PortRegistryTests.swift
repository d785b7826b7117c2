import Foundation
@testable import PGArchiveCore
import XCTest

/// The port registry hands out distinct ports to containers and clones of one service user,
/// also to reservations whose container or clone is not written yet.
final class PortRegistryTests: XCTestCase {
    var directory = ""

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("ports-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    func testReservationsAreDistinctKeptForTheSamePathAndAvoidTheGivenPorts() throws {
        let registry = directory + "/ports"
        let start = 40000 + Int.random(in: 0..<10000)
        let a = try PortRegistry.reserve(for: directory + "/a", startingAt: start, registry: registry)
        let cloneOfA = try PortRegistry.reserve(for: directory + "/a/clones/x", startingAt: a + 1, avoiding: [a + 1], registry: registry)
        let b = try PortRegistry.reserve(for: directory + "/b", startingAt: start, registry: registry)
        XCTAssertEqual(Set([a, cloneOfA, b]).count, 3, "\([a, cloneOfA, b])")
        XCTAssertNotEqual(cloneOfA, a + 1, "a port in `avoiding` is never handed out")
        XCTAssertEqual(try PortRegistry.reserve(for: directory + "/a", startingAt: start, registry: registry), a)
        let text = try String(contentsOfFile: registry, encoding: .utf8)
        XCTAssertEqual(text.split(separator: "\n").count, 3, text)
        XCTAssertTrue(text.split(separator: "\n").allSatisfy { $0.split(separator: " ").count == 3 }, text)
    }

    func testEntriesOfVanishedPathsAreDroppedOnlyAfterTheGrace() throws {
        let registry = directory + "/ports"
        let now = Date()
        let old = Int(now.timeIntervalSince1970 - PortRegistry.grace - 5)
        let fresh = Int(now.timeIntervalSince1970 - 5)
        let clone = directory + "/c/clones/y"
        try FileManager.default.createDirectory(atPath: clone, withIntermediateDirectories: true)
        try "15\n".write(toFile: clone + "/PG_VERSION", atomically: true, encoding: .utf8)
        try """
            45001 \(old) \(directory)/gone
            45002 \(fresh) \(directory)/being-created
            45003 \(directory)/old-format-gone
            45004 \(old) \(clone)

            """.write(toFile: registry, atomically: true, encoding: .utf8)
        let port = try PortRegistry.reserve(for: directory + "/new", startingAt: 45001, registry: registry, now: now)
        let kept = try String(contentsOfFile: registry, encoding: .utf8).split(separator: "\n").map { $0.split(separator: " ").last.map(String.init) ?? "" }
        XCTAssertEqual(kept, ["\(directory)/being-created", clone, "\(directory)/new"])
        XCTAssertFalse([45002, 45004].contains(port), "ports of a fresh reservation and of an existing clone stay taken: \(port)")
    }

    func testLinesParseInBothFormats() {
        let new = PortRegistry.Entry(line: "5433 1764640000 /srv/pg archive/a")
        XCTAssertEqual(new?.port, 5433)
        XCTAssertEqual(new?.path, "/srv/pg archive/a")
        XCTAssertEqual(new?.reserved, Date(timeIntervalSince1970: 1_764_640_000))
        XCTAssertEqual(new?.line, "5433 1764640000 /srv/pg archive/a")
        let old = PortRegistry.Entry(line: "5434 /srv/pg archive/b")
        XCTAssertEqual(old?.path, "/srv/pg archive/b")
        XCTAssertNil(old?.reserved)
        XCTAssertEqual(old?.line, "5434 /srv/pg archive/b")
        XCTAssertNil(PortRegistry.Entry(line: "x /a"))
        XCTAssertNil(PortRegistry.Entry(line: "5435"))
    }
}
