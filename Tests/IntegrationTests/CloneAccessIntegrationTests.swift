import Foundation
import PGArchiveCore
import PGArchiveTestSupport
import Postgres
import XCTest

/// Issue 18 items 15 and 12: who may log in to a clone (only the service user by default,
/// `--allow ROLE[@CIDR]` with scram-sha-256), and the smaller ones: standby/clone start and
/// stop and restore points take their locks, `clone psql` quotes its conninfo, purge keeps a
/// clone whose server does not stop, and a global config others can write is refused.
final class CloneAccessIntegrationTests: XCTestCase {
    var upstream: UpstreamCluster?
    var container: ContainerFixture?
    var stoppedPIDs: [pid_t] = []

    override func tearDown() async throws {
        for pid in stoppedPIDs { kill(pid, SIGCONT) }
        await container?.destroy()
        await upstream?.destroy()
    }

    func cloneMetadata(_ container: ContainerFixture, _ name: String) throws -> CloneMetadata {
        let data = try Data(contentsOf: URL(fileURLWithPath: container.layout.clone(name) + "/pgarchive.clone.json"))
        return try SnapshotStore.decoder.decode(CloneMetadata.self, from: data)
    }

    /// nil when the login worked (and `current_user` was `user`), else libpq's message.
    func loginError(_ conninfo: Conninfo, user: String) -> String? {
        do {
            let connection = try Connection(conninfo: conninfo.rendered, connectTimeout: 5)
            defer { connection.close() }
            let who = try connection.query("SELECT current_user").rows.first?[0]
            return who == user ? nil : "logged in as \(who ?? "?")"
        } catch {
            return "\(error)"
        }
    }

    func tcp(_ port: Int, user: String, password: String? = nil) -> Conninfo {
        var pairs = [("host", "127.0.0.1"), ("port", String(port)), ("dbname", "postgres"), ("user", user), ("sslmode", "disable")]
        if let password { pairs.append(("password", password)) }
        return Conninfo(pairs)
    }

    func socket(_ container: ContainerFixture, _ port: Int, user: String) -> Conninfo {
        Conninfo([("host", container.layout.run), ("port", String(port)), ("dbname", "postgres"), ("user", user)])
    }

    func testOnlyTheServiceUserAndAllowedRolesLogInAndCommandsTakeTheirLocks() async throws {
        let upstream = try await UpstreamCluster(name: "access")
        self.upstream = upstream
        for statement in ["CREATE TABLE markers (id serial PRIMARY KEY, note text NOT NULL)",
                          "INSERT INTO markers (note) VALUES ('M')",
                          "CREATE ROLE anna LOGIN PASSWORD 'anna-pw'", "CREATE ROLE bob LOGIN PASSWORD 'bob-pw'",
                          "GRANT SELECT ON markers TO anna"] {
            try upstream.sql(statement)
        }
        // A container path with a space: `clone psql` must quote it in its conninfo.
        let container = try ContainerFixture(name: "access c")
        self.container = container
        // The test upstream keeps WAL for its slot without bound: init says so (item 16).
        let initResult = try await container.ok(["container", "init", "--upstream", upstream.conninfo])
        XCTAssertTrue(initResult.stderr.contains("the upstream has max_slot_wal_keep_size = -1 (unlimited)")
                      && initResult.stderr.contains("ALTER SYSTEM SET max_slot_wal_keep_size = '"), initResult.stderr)
        let user = try container.config().standbyUser

        // Bad --allow values change nothing.
        for (bad, text) in [("anna@999.1.1.1", "is not an IP address or network"), ("an na", "the role must be a name"),
                            ("anna@10.0.0.0/8", "clone_listen_addresses")] {
            let refused = try await container.run(["clone", "create", "x", "--latest", "--allow", bad])
            XCTAssertEqual(refused.exitCode, 1, "\(bad): \(refused)")
            XCTAssertTrue(refused.stderr.contains(text), "\(bad): \(refused.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: container.layout.clone("x")))
        }

        try await container.ok(["clone", "create", "open", "--latest", "--allow", "anna", "--start"])
        try await container.ok(["clone", "create", "closed", "--latest", "--start"])
        let open = try cloneMetadata(container, "open")
        let closed = try cloneMetadata(container, "closed")
        XCTAssertEqual(open.allow, [CloneAccessRule(role: "anna")])

        // The allowed role with its password gets in over localhost and reads the data …
        XCTAssertNil(loginError(tcp(open.port, user: "anna", password: "anna-pw"), user: "anna"))
        let anna = try Connection(conninfo: tcp(open.port, user: "anna", password: "anna-pw").rendered, connectTimeout: 5)
        XCTAssertEqual(try anna.query("SELECT note FROM markers").rows.first?[0], "M")
        anna.close()
        // … not with a wrong one, not through the socket (peer: the OS user is not anna) …
        XCTAssertTrue(loginError(tcp(open.port, user: "anna", password: "wrong"), user: "anna")?.contains("password authentication failed") ?? false)
        let annaSocket = loginError(socket(container, open.port, user: "anna"), user: "anna")
        XCTAssertTrue(annaSocket?.contains("Peer authentication failed") ?? false, annaSocket ?? "anna got in through the socket")
        // … and other roles, the superuser included, get no TCP login at all.
        for (role, password) in [("bob", "bob-pw"), (user, "x")] {
            let error = loginError(tcp(open.port, user: role, password: password), user: role)
            XCTAssertTrue(error?.contains("no pg_hba.conf entry") ?? false, "\(role): \(error ?? "logged in")")
        }
        // Without --allow nobody but the service user: anna is refused too.
        let closedError = loginError(tcp(closed.port, user: "anna", password: "anna-pw"), user: "anna")
        XCTAssertTrue(closedError?.contains("no pg_hba.conf entry") ?? false, closedError ?? "anna got into a clone without --allow")
        // The service user through the socket (peer, mapped to standby_user).
        XCTAssertNil(loginError(socket(container, closed.port, user: user), user: user))

        // clone psql with the quoted conninfo (the container path has a space).
        // (-C before the psql arguments: the fixture would append it after `--`.)
        let psql = try await container.binary.run(["clone", "psql", "-C", container.path, "open", "--", "-At", "-c", "SELECT current_user || ':' || count(*) FROM markers"])
        XCTAssertEqual(psql.exitCode, 0, "\(psql)")
        XCTAssertEqual(psql.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "\(user):1", psql.stdout)

        // Locks: standby stop (container lock), clone stop (snapshots lock) and restorepoint
        // create (restore_points lock) wait while another pgarchive holds them.
        var held: [ContainerLock]? = [
            try ContainerLock.acquire(.container, in: container.layout.run, command: "test holder", wait: false),
            try ContainerLock.acquire(.snapshots, in: container.layout.run, command: "test holder", wait: false),
            try ContainerLock.acquire(.restorePoints, in: container.layout.run, command: "test holder", wait: false),
        ]
        let commands = [["standby", "stop"], ["clone", "stop", "closed"], ["restorepoint", "create", "rp1"]]
        let tasks = commands.map { arguments in Task { try await container.run(arguments) } }
        try await Task.sleep(for: .milliseconds(2500))
        XCTAssertNotNil(container.standbyPID(), "standby stop did not wait for the container lock")
        XCTAssertTrue(Processes.postmasterState(dataDirectory: container.layout.clone("closed")).isRunning, "clone stop did not wait")
        XCTAssertFalse(FileManager.default.fileExists(atPath: container.path + "/restore_points.json"), "restorepoint create did not wait")
        XCTAssertEqual(held?.count, 3)
        held = nil
        for (arguments, task) in zip(commands, tasks) {
            let result = try await task.value
            XCTAssertEqual(result.exitCode, 0, "\(arguments): \(result)")
            XCTAssertTrue(result.stderr.contains("waiting for another pgarchive (pid \(getpid()), running `pgarchive test holder`)"), "\(arguments): \(result.stderr)")
        }
        XCTAssertFalse(Processes.postmasterState(dataDirectory: container.layout.standby).isRunning)
        XCTAssertFalse(Processes.postmasterState(dataDirectory: container.layout.clone("closed")).isRunning)
        XCTAssertTrue(try String(contentsOfFile: container.path + "/restore_points.json", encoding: .utf8).contains("rp1"))
        try await container.ok(["standby", "start"])

        // A global config that others can write is refused (it can set pg_bindir).
        let global = container.scratch + "/global.conf"
        try "dump_keep = 3\n".write(toFile: global, atomically: true, encoding: .utf8)
        chmod(global, 0o666)
        let refused = try await container.run(["clone", "list"], environment: ["PGARCHIVE_CONF": global])
        XCTAssertEqual(refused.exitCode, 1, "\(refused)")
        XCTAssertTrue(refused.stderr.contains("\(global) has mode 0666") && refused.stderr.contains("chmod go-w \(global)"), refused.stderr)
        chmod(global, 0o644)
        let accepted = try await container.run(["clone", "list"], environment: ["PGARCHIVE_CONF": global])
        XCTAssertEqual(accepted.exitCode, 0, "\(accepted)")

        // purge keeps a clone whose server cannot be stopped (here: SIGSTOPped), and deletes nothing.
        guard case .running(let pid) = Processes.postmasterState(dataDirectory: container.layout.clone("open")) else {
            return XCTFail("clone open is not running")
        }
        kill(pid, SIGSTOP)
        stoppedPIDs.append(pid)
        let purge = try await container.run(["container", "purge", "--force"])
        XCTAssertEqual(purge.exitCode, 1, "\(purge)")
        XCTAssertTrue(purge.stderr.contains("clone open kept: its server (pid \(pid)) could not be stopped"), purge.stderr)
        XCTAssertTrue(purge.stderr.contains("container purge deleted nothing"), purge.stderr)
        for path in [container.layout.clone("open"), container.layout.configFile, container.layout.walArchive, container.layout.standby + "/PG_VERSION"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: path), "purge deleted \(path)")
        }
        XCTAssertEqual(try upstream.scalar("SELECT count(*) FROM pg_replication_slots"), "1", "purge dropped the slot")
        kill(pid, SIGCONT)
        stoppedPIDs = []
    }
}
