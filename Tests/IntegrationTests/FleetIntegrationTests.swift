import Foundation
@testable import PGArchiveCore
import PGArchiveTestSupport
import Postgres
import XCTest

/// `pgarchive status --all` and `check --all` over real containers: three containers of two
/// upstreams under one root, one of them degraded (its pg_receivewal stopped), then two that
/// cannot be opened (a malformed pgarchive.conf, a directory other users can read).
final class FleetIntegrationTests: XCTestCase {
    var upstreams: [UpstreamCluster] = []
    var fixture: ContainerFixture?
    /// Containers beside the fixture's, under one root.
    var extraContainers: [String] = []
    let binary = PGArchiveBinary()

    override func tearDown() async throws {
        for path in extraContainers { _ = try? await binary.run(["container", "purge", "--force", "-C", path]) }
        await fixture?.destroy()
        for upstream in upstreams.reversed() { await upstream.destroy() }
    }

    static let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("docs").path

    /// Validates against docs/fleet-status.schema.json, and each container's `status` against
    /// docs/status.schema.json, which the fleet schema refers to by its $id (validated one by
    /// one: Debian 12's python3-jsonschema cannot resolve a $ref into another document's $defs).
    func assertValid(_ json: String, file: StaticString = #filePath, line: UInt = #line) async throws {
        let script = """
            import json, sys, jsonschema
            fleet, status = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
            item = fleet["properties"]["containers"]["items"]["properties"]
            assert item["status"] == {"$ref": status["$id"]}, item["status"]
            item["status"] = {"type": "object"}
            document = json.load(sys.stdin)
            jsonschema.Draft202012Validator(fleet).validate(document)
            for entry in document["containers"]:
                if "status" in entry:
                    jsonschema.Draft202012Validator(status).validate(entry["status"])
            print("valid")
            """
        let result = try await ToolCommand(executable: "/usr/bin/python3",
                                           arguments: ["-c", script, Self.docs + "/fleet-status.schema.json", Self.docs + "/status.schema.json"]).run(input: json)
        XCTAssertEqual(result.exitCode, 0, "status --all --json does not match docs/fleet-status.schema.json:\n\(result.standardError)\n\(json)", file: file, line: line)
    }

    func testStatusAndCheckAllOrderHealthExitCodesAndJSON() async throws {
        let first = try await UpstreamCluster(name: "fleet1")
        upstreams.append(first)
        let second = try await UpstreamCluster(name: "fleet2")
        upstreams.append(second)
        let a = try ContainerFixture(name: "a")
        fixture = a
        let root = a.scratch
        let b = root + "/b", c = root + "/c"
        try await a.initContainer(upstream: first)
        for (path, upstream) in [(b, first), (c, second)] {
            extraContainers.append(path)
            let made = try await binary.run(["container", "init", "--upstream", upstream.conninfo, "-C", path])
            XCTAssertEqual(made.exitCode, 0, "\(made)")
        }
        // b is degraded: its pg_receivewal is stopped (the standby still runs).
        let stopped = try await binary.run(["wal", "stop", "-C", b])
        XCTAssertEqual(stopped.exitCode, 0, "\(stopped)")

        let text = try await binary.run(["status", "--all", "--root", root])
        XCTAssertEqual(text.exitCode, 1, "the worst is degraded: \(text)")
        var lines = text.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 4, text.stdout)
        XCTAssertTrue(lines[0].hasPrefix("HEALTH "), text.stdout)
        XCTAssertTrue(lines[1].hasPrefix("DEGRADED  \(b) "), text.stdout)
        XCTAssertTrue(lines[1].contains("pg_receivewal is stopped"), text.stdout)
        XCTAssertTrue(lines[2].hasPrefix("ok        \(a.path) "), text.stdout)
        XCTAssertTrue(lines[3].hasPrefix("ok        \(c) "), text.stdout)
        for line in lines.dropFirst() {
            XCTAssertTrue(line.contains(" old "), "newest snapshot age: \(line)")
            XCTAssertTrue(line.contains(" never "), "no verify yet: \(line)")
            XCTAssertTrue(line.range(of: #"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ to "#, options: .regularExpression) != nil, "restorable range: \(line)")
        }

        let json = try await binary.run(["status", "--all", "--root", root + "/", "--json"])
        XCTAssertEqual(json.exitCode, 1, "\(json)")
        try await assertValid(json.stdout)
        let report = try SnapshotStore.decoder.decode(Fleet.StatusReport.self, from: Data(json.stdout.utf8))
        XCTAssertEqual(report.root, root)
        XCTAssertEqual(report.health, .degraded)
        XCTAssertEqual(report.containers.map(\.container), [b, a.path, c])
        XCTAssertEqual(report.containers.map(\.health), [.degraded, .ok, .ok])
        XCTAssertEqual(report.containers[0].status?.receiver.state, "stopped")
        XCTAssertEqual(report.containers[2].status?.snapshotCount, 1)

        let check = try await binary.run(["check", "--all", "--root", root])
        XCTAssertEqual(check.exitCode, 2, "b's WAL is not arriving: critical: \(check)")
        lines = check.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 4, check.stdout)
        XCTAssertTrue(lines[0].hasPrefix("PGARCHIVE CRITICAL: 3 container(s) in \(root): 1 critical, 0 warning, 0 unknown, 2 ok | containers=3 ok=2 warning=0 critical=1 unknown=0 'b snapshot_age'="), check.stdout)
        XCTAssertTrue(lines[0].contains("'a snapshot_age'=") && lines[0].contains("'c snapshot_age'="), check.stdout)
        XCTAssertTrue(lines[1].hasPrefix("CRITICAL \(b): "), check.stdout)
        XCTAssertTrue(lines[1].contains("WAL arriving: CRITICAL (pg_receivewal is stopped)"), check.stdout)
        XCTAssertEqual(Array(lines[2...]), ["OK \(a.path)", "OK \(c)"], check.stdout)

        // Containers that cannot be opened are one line each, the worst, not a crash.
        let broken = root + "/broken", readable = root + "/readable"
        for path in [broken, readable] {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        try AtomicFile.write("no_such_setting = 1\n", to: broken + "/pgarchive.conf", mode: 0o600)
        try AtomicFile.write("slot = 'x'\n", to: readable + "/pgarchive.conf", mode: 0o600)
        XCTAssertEqual(chmod(readable, 0o755), 0)
        let withBroken = try await binary.run(["status", "--all", "--root", root])
        XCTAssertEqual(withBroken.exitCode, 2, "\(withBroken)")
        lines = withBroken.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 6, withBroken.stdout)
        XCTAssertTrue(lines[1].hasPrefix("ERROR     \(broken) "), withBroken.stdout)
        XCTAssertTrue(lines[1].hasSuffix("\(broken)/pgarchive.conf:1: unknown setting 'no_such_setting'; known settings: " + ContainerConfig.keys.map(\.name).joined(separator: ", ")), withBroken.stdout)
        XCTAssertTrue(lines[2].hasPrefix("ERROR     \(readable) "), withBroken.stdout)
        XCTAssertTrue(lines[2].contains("has mode 0755"), withBroken.stdout)
        XCTAssertTrue(lines[3].hasPrefix("DEGRADED  \(b) "), withBroken.stdout)
        let brokenJSON = try await binary.run(["status", "--all", "--root", root, "--json"])
        XCTAssertEqual(brokenJSON.exitCode, 2, "\(brokenJSON)")
        try await assertValid(brokenJSON.stdout)
        let brokenReport = try SnapshotStore.decoder.decode(Fleet.StatusReport.self, from: Data(brokenJSON.stdout.utf8))
        XCTAssertEqual(brokenReport.health, .error)
        XCTAssertEqual(brokenReport.containers.map(\.health), [.error, .error, .degraded, .ok, .ok])
        XCTAssertNil(brokenReport.containers[0].status)

        let checkBroken = try await binary.run(["check", "--all", "--root", root])
        XCTAssertEqual(checkBroken.exitCode, 2, "\(checkBroken)")
        lines = checkBroken.stdout.split(separator: "\n").map(String.init)
        XCTAssertTrue(lines[0].hasPrefix("PGARCHIVE CRITICAL: 5 container(s) in \(root): 3 critical, 0 warning, 0 unknown, 2 ok | "), checkBroken.stdout)
        XCTAssertTrue(lines[1].hasPrefix("CRITICAL \(b): "), checkBroken.stdout)
        XCTAssertTrue(lines[2].hasPrefix("CRITICAL \(broken): container: CRITICAL (cannot be opened: \(broken)/pgarchive.conf:1: unknown setting"), checkBroken.stdout)
        XCTAssertTrue(lines[3].hasPrefix("CRITICAL \(readable): container: CRITICAL (cannot be opened: refusing to use the container: container directory \(readable) has mode 0755"), checkBroken.stdout)
        XCTAssertEqual(Array(lines[4...]), ["OK \(a.path)", "OK \(c)"], checkBroken.stdout)
        try FileManager.default.removeItem(atPath: broken)
        try FileManager.default.removeItem(atPath: readable)

        // The root from containers_root in the global file; bad input is an error that says what to do.
        let global = root + "/global.conf"
        try AtomicFile.write("containers_root = '\(root)'\n", to: global, mode: 0o600)
        let fromGlobal = try await binary.run(["status", "--all"], environment: ["PGARCHIVE_CONF": global])
        XCTAssertEqual(fromGlobal.exitCode, 1, "\(fromGlobal)")
        XCTAssertEqual(fromGlobal.stdout.split(separator: "\n").count, 4, fromGlobal.stdout)
        let noRoot = try await binary.run(["check", "--all"], environment: ["PGARCHIVE_CONF": root + "/none.conf"])
        XCTAssertEqual(noRoot.exitCode, 3, "\(noRoot)")
        XCTAssertEqual(noRoot.stdout, "PGARCHIVE UNKNOWN: no directory of containers given: pass --root DIR, or set containers_root = '/srv/pgarchive' (the directory holding the containers) in \(root)/none.conf\n")
        let missing = try await binary.run(["status", "--all", "--root", root + "/nonexistent"])
        XCTAssertEqual(missing.exitCode, 1, "\(missing)")
        XCTAssertTrue(missing.stderr.hasPrefix("pgarchive: error: cannot list --root \(root)/nonexistent"), "\(missing)")
        let empty = root + "/empty"
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        let none = try await binary.run(["status", "--all", "--root", empty])
        XCTAssertEqual(none.exitCode, 1, "\(none)")
        XCTAssertTrue(none.stderr.hasPrefix("pgarchive: error: no container (a directory with a pgarchive.conf) in \(empty); "), "\(none)")
        let both = try await binary.run(["status", "--all", "-C", a.path])
        XCTAssertEqual(both.exitCode, 1, "\(both)")
        XCTAssertTrue(both.stderr.contains("give either --all/--root DIR or --container/-C PATH, not both"), "\(both)")
        // Side-by-side containers hand out distinct ports, also to clones that are created and
        // not yet started (so nothing listens on their port yet): a's clones and c's clones
        // never share one, nor take a standby's.
        for (path, name) in [(a.path, "one"), (c, "two"), (a.path, "three"), (c, "four")] {
            let made = try await binary.run(["clone", "create", name, "--latest", "-C", path])
            XCTAssertEqual(made.exitCode, 0, "\(made)")
        }
        var ports: [Int] = []
        for path in [a.path, b, c] {
            let opened = try Container.open(path: path)
            ports.append(opened.config.standbyPort)
            ports += try opened.clones.list().map(\.port)
        }
        XCTAssertEqual(ports.count, 7, "\(ports)")
        XCTAssertEqual(Set(ports).count, ports.count, "standby and clone ports of three containers must differ: \(ports)")
        // Without --all, `status` is `container status` of one container.
        let one = try await a.run(["status"])
        XCTAssertEqual(one.exitCode, 0, "\(one)")
        XCTAssertTrue(one.stdout.hasPrefix("container:        \(a.path)\n"), "\(one)")
    }
}
