import Foundation
import PGArchiveCore
import PGArchiveTestSupport
import Postgres
import XCTest

/// The security part of the fault suite (issue #9): permissions are enforced, no password
/// reaches a command line, an environment or a log, and clones listen only where they should.
final class SecurityIntegrationTests: XCTestCase {
    var upstreams: [UpstreamCluster] = []
    var containers: [ContainerFixture] = []

    override func tearDown() async throws {
        for container in containers.reversed() {
            // A test may leave the container with wrong permissions or a refused setting, so
            // that purge cannot open it: stop the clones by their own pid files first.
            chmod(container.path, 0o700)
            chmod(container.layout.configFile, 0o600)
            await container.stopClones()
            await container.destroy()
        }
        for upstream in upstreams.reversed() { await upstream.destroy() }
        containers = []
        upstreams = []
    }

    func makeUpstream(settings: [String: String] = [:]) async throws -> UpstreamCluster {
        let upstream = try await UpstreamCluster(name: "upstream", settings: settings)
        upstreams.append(upstream)
        try upstream.sql("CREATE TABLE markers (id serial PRIMARY KEY, note text NOT NULL)")
        return upstream
    }

    func makeContainer(environment: [String: String?] = [:]) throws -> ContainerFixture {
        let container = try ContainerFixture(name: "c", environment: environment)
        containers.append(container)
        return container
    }

    // MARK: - No password in argv, environment or logs

    func testPasswordNeverInArgvEnvironmentOrLogs() async throws {
        let secret = "s3cret-\(UUID().uuidString.prefix(8))"
        let upstream = try await makeUpstream(settings: ["password_encryption": "'scram-sha-256'"])
        try upstream.sql("CREATE ROLE archiver LOGIN SUPERUSER REPLICATION PASSWORD '\(secret)'")
        try upstream.sql("CREATE DATABASE app")
        try upstream.sql("CREATE TABLE items (id int PRIMARY KEY, note text)", database: "app")
        try upstream.sql("INSERT INTO items SELECT g, 'n' || g FROM generate_series(1, 5000) g", database: "app")
        let hba = upstream.dataDirectory + "/pg_hba.conf"
        let original = try String(contentsOfFile: hba, encoding: .utf8)
        try ("local all archiver scram-sha-256\nlocal replication archiver scram-sha-256\n" + original)
            .write(toFile: hba, atomically: true, encoding: .utf8)
        _ = try upstream.scalar("SELECT pg_reload_conf()")
        let passfile = upstream.directory + "/pgpass"
        try "*:*:*:archiver:\(secret)\n".write(toFile: passfile, atomically: true, encoding: .utf8)
        chmod(passfile, 0o600)
        let container = try makeContainer(environment: ["PGPASSFILE": passfile])
        let conninfo = "host=\(upstream.socketDirectory) port=\(upstream.port) user=archiver dbname=postgres"

        let sampler = ProcessSampler(secret: secret, clonesDirectory: container.layout.clones)
        sampler.start()
        var stopped = false
        defer { if !stopped { sampler.stop() } }
        // The sampler can see a leak: a process with the secret in its argv and environment.
        _ = try await ToolCommand(executable: "python3", arguments: ["-c", "import time; time.sleep(1)", secret],
                                  environment: ["PGARCHIVE_TEST_CANARY": secret]).runChecked()
        let canary = sampler.takeLeaks()
        XCTAssertTrue(canary.contains { $0.hasPrefix("argv of ") && $0.contains("python3") }, "the sampler missed a secret in argv: \(canary)")
        XCTAssertTrue(canary.contains { $0.hasPrefix("environment of ") }, "the sampler missed a secret in an environment: \(canary)")

        try await container.ok(["container", "init", "--upstream", conninfo])
        try upstream.sql("INSERT INTO markers (note) VALUES ('secured')")
        _ = try upstream.scalar("SELECT pg_switch_wal()")
        let replayed = await eventually(timeout: 60) {
            container.standbyScalar("SELECT count(*) FROM markers WHERE note = 'secured'") == "1"
        }
        XCTAssertTrue(replayed, "the standby did not replay the marker")
        try await container.ok(["snapshot", "create"])
        try await container.ok(["clone", "create", "probe", "--latest", "--start"])
        let clone = try cloneConnection(container, "probe")
        XCTAssertEqual(try clone.query("SELECT count(*) FROM markers WHERE note = 'secured'").rows.first?[0], "1")
        clone.close()
        try await container.ok(["dump", "create", "app"])
        try await container.ok(["dump", "create", "app", "--from-upstream"])
        // The dump runs and their directories are closed to others (the container is, too).
        let dumpDirectories = directories(under: container.layout.dumps, depth: 2)
        XCTAssertGreaterThanOrEqual(dumpDirectories.count, 3, "\(dumpDirectories)")
        for directory in dumpDirectories {
            XCTAssertEqual((mode(directory) ?? 0o777) & 0o077, 0, "\(directory) has mode \(String(mode(directory) ?? 0, radix: 8))")
        }
        let verify = try await container.ok(["verify", "--restore"])
        XCTAssertTrue(verify.stdout.contains("result: PASSED"), verify.stdout)
        try await container.ok(["container", "stop"])
        try await container.ok(["container", "start"])
        sampler.stop()
        stopped = true

        // The sampler really watched: it saw the daemons and the tools.
        let programs = sampler.programs
        XCTAssertGreaterThan(sampler.samples, 20, "too few samples of /proc")
        for program in ["pg_receivewal", "pgarchive", "postgres"] {
            XCTAssertTrue(programs.contains(program), "the sampler never saw \(program): \(programs.sorted())")
        }
        XCTAssertEqual(sampler.leaks, [], "the password appeared in a command line or environment")

        // Temporary clones of dump and verify were configured for the socket and localhost.
        let seen = sampler.cloneListenAddresses
        XCTAssertTrue(seen.keys.contains { $0.hasPrefix("dump-") }, "no temporary dump clone was seen: \(seen)")
        XCTAssertTrue(seen.keys.contains { $0.hasPrefix("verify-") }, "no temporary verify clone was seen: \(seen)")
        for (name, listen) in seen {
            XCTAssertEqual(listen, "localhost", "clone \(name) listens on \(listen)")
        }

        // No file pgarchive or PostgreSQL wrote holds the password: logs of pgarchive, the
        // standby and the clones, run/, the configuration files, the dump metadata.
        var scanned = 0
        var hits: [String] = []
        let roots = [container.layout.logs, container.layout.run, container.layout.configFile,
                     container.layout.standby + "/postgresql.conf", container.layout.clone("probe") + "/postgresql.conf",
                     container.layout.clone("probe") + "/log", container.layout.standby + "/log", container.layout.dumps]
        for root in roots {
            for file in regularFiles(under: root) {
                guard let data = FileManager.default.contents(atPath: file) else { continue }
                scanned += 1
                if data.range(of: Data(secret.utf8)) != nil { hits.append(file) }
            }
        }
        XCTAssertTrue(regularFiles(under: container.layout.logs).contains(container.layout.standbyLog), "no standby log to scan")
        XCTAssertTrue(regularFiles(under: container.layout.logs).contains { $0.hasSuffix("clone_probe.log") },
                      "no clone log to scan: \(regularFiles(under: container.layout.logs))")
        XCTAssertGreaterThan(scanned, 5)
        XCTAssertEqual(hits, [], "the password is in these files")
    }

    // MARK: - Listening

    func testClonesListenOnlyOnTheirSocketAndLocalhostUnlessConfigured() async throws {
        let upstream = try await makeUpstream()
        let container = try makeContainer()
        try await container.initContainer(upstream: upstream)
        let config = try container.config()

        // The standby: its socket in run/ only, no TCP at all.
        XCTAssertEqual(container.standbyScalar("SHOW listen_addresses"), "")
        XCTAssertEqual(container.standbyScalar("SHOW unix_socket_directories"), container.layout.run)
        XCTAssertEqual(container.standbyScalar("SHOW unix_socket_permissions"), "0700")

        try await container.ok(["clone", "create", "local", "--latest", "--start"])
        let local = try cloneConnection(container, "local")
        XCTAssertEqual(try local.query("SHOW listen_addresses").rows.first?[0], "localhost")
        XCTAssertEqual(try local.query("SHOW unix_socket_directories").rows.first?[0], container.layout.run)
        local.close()
        let localPort = try cloneMetadata(container, "local").port
        // On localhost the server answers, but admits nobody over TCP without --allow
        // (issue 18 item 15; CloneAccessIntegrationTests tests who gets in) …
        let loopback = connectionError(host: "127.0.0.1", port: localPort, user: config.standbyUser)
        XCTAssertNotNil(loopback, "a passwordless TCP login to a clone succeeded")
        XCTAssertFalse(loopback?.contains("refused") ?? true, loopback ?? "")
        XCTAssertTrue(loopback?.contains("no pg_hba.conf entry") ?? false, loopback ?? "")
        // … on the machine's other addresses nothing listens.
        let outside = NonLoopbackAddress.first()
        if let outside {
            let refused = connectionError(host: outside, port: localPort, user: config.standbyUser)
            XCTAssertTrue(refused?.contains("Connection refused") ?? false, "clone reachable via \(outside): \(refused ?? "connected")")
        } else {
            print("note: this machine has no non-loopback IPv4 address; the outside connection is not tried")
        }

        // clone_listen_addresses changes that for new clones.
        try "clone_listen_addresses = '*'\n".appendAsLine(to: container.layout.configFile)
        try await container.ok(["clone", "create", "wide", "--latest", "--start"])
        let wide = try cloneConnection(container, "wide")
        XCTAssertEqual(try wide.query("SHOW listen_addresses").rows.first?[0], "*")
        XCTAssertEqual(try wide.query("SHOW unix_socket_directories").rows.first?[0], container.layout.run)
        wide.close()
        if let outside {
            // Reachable now, and still nobody gets in without --allow (issue 18 item 15
            // changed this on purpose: it used to ask for a password).
            let widePort = try cloneMetadata(container, "wide").port
            let answer = connectionError(host: outside, port: widePort, user: config.standbyUser)
            XCTAssertNotNil(answer, "a passwordless login from another address succeeded")
            XCTAssertFalse(answer?.contains("refused") ?? true, answer ?? "")
            XCTAssertTrue(answer?.contains("no pg_hba.conf entry") ?? false, answer ?? "")
        }
        // The first clone keeps what it was created with.
        XCTAssertEqual(try cloneConnection(container, "local").query("SHOW listen_addresses").rows.first?[0], "localhost")

        // A bad value is refused by every command, naming file and line.
        let goodConfig = try String(contentsOfFile: container.layout.configFile, encoding: .utf8)
        try "clone_listen_addresses = 'localhost; host all'\n".appendAsLine(to: container.layout.configFile)
        let bad = try await container.run(["clone", "list"])
        XCTAssertEqual(bad.exitCode, 1, "\(bad)")
        XCTAssertTrue(bad.stderr.hasPrefix("pgarchive: error: \(container.layout.configFile):"), bad.stderr)
        XCTAssertTrue(bad.stderr.contains("invalid value 'localhost; host all' for clone_listen_addresses"), bad.stderr)
        try AtomicFile.write(goodConfig, to: container.layout.configFile, mode: 0o600)
        try await container.ok(["clone", "list"])
    }

    // MARK: - Permissions

    func testContainerAndConfigPermissionsAreEnforced() async throws {
        let upstream = try await makeUpstream()
        let container = try makeContainer()
        try await container.initContainer(upstream: upstream)
        try await container.ok(["clone", "create", "kept", "--latest"])
        let layout = container.layout

        // What init and the commands made is not accessible by others.
        XCTAssertEqual(mode(layout.root), 0o700)
        XCTAssertEqual(mode(layout.configFile), 0o600)
        let snapshot = try XCTUnwrap(SnapshotStore(layout: layout).list().first).name
        for directory in [layout.walArchive, layout.standby, layout.snapshots, layout.snapshot(snapshot), layout.clones,
                          layout.clone("kept"), layout.dumps, layout.logs, layout.run] {
            XCTAssertEqual((mode(directory) ?? 0o777) & 0o077, 0, "\(directory) has mode \(String(mode(directory) ?? 0, radix: 8))")
        }

        let commands: [[String]] = [
            ["container", "status"], ["container", "status", "--json"], ["container", "stop"], ["container", "start"],
            ["snapshot", "create"], ["snapshot", "list"], ["snapshot", "expire"], ["clone", "create", "new", "--latest"],
            ["clone", "delete", "kept"], ["clone", "list"], ["wal", "list"], ["dump", "create"], ["dump", "list"],
            ["restorepoint", "create", "rp"], ["verify"], ["cron", "watchdog"], ["cron", "compress-wal"], ["metrics"],
        ]
        let before = try state(of: container)

        // pgarchive.conf readable by others: every command refuses, with the fix, and changes nothing.
        chmod(layout.configFile, 0o644)
        for command in commands {
            let result = try await container.run(command)
            // verify's exit code for "could not run" is 2 (1 means it found problems).
            XCTAssertEqual(result.exitCode, command == ["verify"] ? 2 : 1, "\(command): \(result)")
            XCTAssertEqual(result.stderr, "pgarchive: error: refusing to use the container: \(layout.configFile) has mode 0644, so other users can read or change it; pgarchive requires 0600: run `chmod 600 \(layout.configFile)`\n", "\(command)")
        }
        let check = try await container.run(["check"])
        XCTAssertEqual(check.exitCode, 2, "\(check)")
        XCTAssertEqual(check.stdout, "PGARCHIVE CRITICAL: \(layout.root)\n\tpermissions: CRITICAL (\(layout.configFile) has mode 0644, so other users can read or change it; pgarchive requires 0600: run `chmod 600 \(layout.configFile)`)\n")
        XCTAssertEqual(mode(layout.configFile), 0o644, "pgarchive must not change the mode silently")
        XCTAssertEqual(try state(of: container), before, "a refused command changed the container")
        // The daemons keep running; nothing was stopped. The standby's restore_command met the
        // refused configuration too, and waits it out instead of shutting down.
        XCTAssertNotNil(container.receiverPID().flatMap { Processes.isAlive($0) ? $0 : nil })
        XCTAssertNotNil(container.standbyPID().flatMap { Processes.isAlive($0) ? $0 : nil }, "the standby stopped while pgarchive.conf was refused")
        XCTAssertTrue(((try? String(contentsOfFile: layout.standbyLog, encoding: .utf8)) ?? "").contains("the standby waits and asks again"),
                      "the standby's log does not say why it waits")

        // Group-writable only is refused too.
        chmod(layout.configFile, 0o620)
        let groupWritable = try await container.run(["snapshot", "list"])
        XCTAssertEqual(groupWritable.exitCode, 1)
        XCTAssertTrue(groupWritable.stderr.contains("has mode 0620"), groupWritable.stderr)

        // chmod back: works again.
        chmod(layout.configFile, 0o600)
        let status = try await container.ok(["container", "status"])
        XCTAssertTrue(status.stdout.contains("health:           ok"), status.stdout)
        try await container.ok(["snapshot", "create"])
        let healthy = try await container.run(["check"])
        XCTAssertTrue([0, 1].contains(healthy.exitCode), "\(healthy)")
        XCTAssertTrue(healthy.stdout.hasPrefix("PGARCHIVE "), healthy.stdout)
        XCTAssertFalse(healthy.stdout.contains("permissions"), healthy.stdout)

        // The container directory open to others: refused the same way, naming chmod 700.
        chmod(layout.root, 0o755)
        for command in [["snapshot", "list"], ["clone", "create", "new", "--latest"], ["container", "stop"]] {
            let result = try await container.run(command)
            XCTAssertEqual(result.exitCode, 1, "\(command): \(result)")
            XCTAssertEqual(result.stderr, "pgarchive: error: refusing to use the container: container directory \(layout.root) has mode 0755, so other users can reach into it; pgarchive requires 0700: run `chmod 700 \(layout.root)`\n", "\(command)")
        }
        // Both wrong: one line naming both.
        chmod(layout.configFile, 0o644)
        let both = try await container.run(["clone", "list"])
        XCTAssertEqual(both.stderr.split(separator: "\n").count, 1, both.stderr)
        XCTAssertTrue(both.stderr.contains("chmod 700 \(layout.root)") && both.stderr.contains("chmod 600 \(layout.configFile)"), both.stderr)
        let bothCheck = try await container.run(["check"])
        XCTAssertEqual(bothCheck.exitCode, 2, "\(bothCheck)")
        XCTAssertEqual(bothCheck.stdout.split(separator: "\n").filter { $0.contains("permissions: CRITICAL") }.count, 2, bothCheck.stdout)
        XCTAssertFalse(FileManager.default.fileExists(atPath: layout.clone("new")))
        chmod(layout.root, 0o700)
        chmod(layout.configFile, 0o600)
        try await container.ok(["clone", "list"])

        // A password in pgarchive.conf is refused whatever the mode, naming file, line and ~/.pgpass.
        let text = try String(contentsOfFile: layout.configFile, encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let upstreamLine = try XCTUnwrap(lines.firstIndex { $0.hasPrefix("upstream = ") })
        var withPassword = lines
        withPassword[upstreamLine] = "upstream = 'postgresql://postgres:hunter2@localhost/postgres'"
        try AtomicFile.write(withPassword.joined(separator: "\n"), to: layout.configFile, mode: 0o600)
        let refused = try await container.run(["container", "status"])
        XCTAssertEqual(refused.exitCode, 1, "\(refused)")
        XCTAssertEqual(refused.stderr, "pgarchive: error: \(layout.configFile):\(upstreamLine + 1): upstream contains a password, which pgarchive refuses (it would show on command lines in ps); remove it and put the password into ~/.pgpass (mode 0600) of the user running pgarchive, or into the file named by PGPASSFILE, as host:port:database:user:password\n")
        XCTAssertFalse(refused.stderr.contains("hunter2"))
        try AtomicFile.write(text, to: layout.configFile, mode: 0o600)
        try await container.ok(["container", "status"])
    }

    // MARK: - Helpers

    /// Names in snapshots/, clones/, dumps/ and restore points, and the config's bytes and mode.
    func state(of container: ContainerFixture) throws -> [String] {
        let fm = FileManager.default
        var state: [String] = []
        for directory in [container.layout.snapshots, container.layout.clones, container.layout.dumps] {
            state += try fm.contentsOfDirectory(atPath: directory).sorted().map { directory + "/" + $0 }
        }
        state.append(try String(contentsOfFile: container.layout.configFile, encoding: .utf8))
        state.append((try? String(contentsOfFile: container.layout.root + "/restore_points.json", encoding: .utf8)) ?? "no restore points")
        return state
    }

    func mode(_ path: String) -> mode_t? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return info.st_mode & 0o7777
    }

    func cloneMetadata(_ container: ContainerFixture, _ name: String) throws -> CloneMetadata {
        let data = try Data(contentsOf: URL(fileURLWithPath: container.layout.clone(name) + "/pgarchive.clone.json"))
        return try SnapshotStore.decoder.decode(CloneMetadata.self, from: data)
    }

    func cloneConnection(_ container: ContainerFixture, _ name: String) throws -> Connection {
        let metadata = try cloneMetadata(container, name)
        return try Connection(conninfo: "host=\(container.layout.run) port=\(metadata.port) dbname=postgres user=\(try container.config().standbyUser)", connectTimeout: 5)
    }

    /// nil when the connection succeeded, else libpq's message.
    func connectionError(host: String, port: Int, user: String) -> String? {
        do {
            let connection = try Connection(conninfo: "host=\(host) port=\(port) dbname=postgres user=\(user) sslmode=disable", connectTimeout: 5)
            connection.close()
            return nil
        } catch {
            return "\(error)"
        }
    }

    /// Directories below `path`, down to `depth` levels.
    func directories(under path: String, depth: Int) -> [String] {
        guard depth > 0 else { return [] }
        var result: [String] = []
        for name in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] {
            let child = path + "/" + name
            var info = stat()
            guard lstat(child, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else { continue }
            result.append(child)
            result += directories(under: child, depth: depth - 1)
        }
        return result
    }

    func regularFiles(under path: String) -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return [] }
        guard isDirectory.boolValue else { return [path] }
        var files: [String] = []
        for case let relative as String in FileManager.default.enumerator(atPath: path) ?? NSEnumerator() {
            let file = path + "/" + relative
            var info = stat()
            if lstat(file, &info) == 0, info.st_mode & S_IFMT == S_IFREG { files.append(file) }
        }
        return files
    }
}

/// Reads every process's command line and environment from /proc, over and over on its own
/// thread, while the commands under test run; notes any that contains the secret. Also notes
/// the listen_addresses of every clone that exists meanwhile (temporary ones included).
final class ProcessSampler: @unchecked Sendable {
    let secret: Data
    let clonesDirectory: String
    private let lock = NSLock()
    private var running = true
    private var thread: Thread?
    private var _leaks: [String] = []
    private var _programs: Set<String> = []
    private var _samples = 0
    private var _clones: [String: String] = [:]
    private let finished = DispatchSemaphore(value: 0)

    init(secret: String, clonesDirectory: String) {
        self.secret = Data(secret.utf8)
        self.clonesDirectory = clonesDirectory
    }

    var leaks: [String] { lock.withLock { _leaks } }

    /// The leaks so far, forgetting them. Waits until a sample that began after the call has
    /// ended: one in flight may still hold a process that exited since (the canary) and would
    /// otherwise add it after the leaks were taken.
    func takeLeaks() -> [String] {
        let seen = samples
        while samples < seen + 2 && lock.withLock({ running }) { usleep(5_000) }
        return lock.withLock {
            defer { _leaks = [] }
            return _leaks
        }
    }
    var programs: Set<String> { lock.withLock { _programs } }
    var samples: Int { lock.withLock { _samples } }
    var cloneListenAddresses: [String: String] { lock.withLock { _clones } }

    func start() {
        let thread = Thread { [self] in
            while lock.withLock({ running }) {
                sample()
                usleep(5_000)
            }
            finished.signal()
        }
        self.thread = thread
        thread.start()
    }

    func stop() {
        lock.withLock { running = false }
        finished.wait()
    }

    private func sample() {
        let fm = FileManager.default
        let pids = ((try? fm.contentsOfDirectory(atPath: "/proc")) ?? []).filter { $0.allSatisfy(\.isNumber) }
        var leaks: [String] = []
        var programs: Set<String> = []
        for pid in pids {
            guard let cmdline = fm.contents(atPath: "/proc/\(pid)/cmdline"), !cmdline.isEmpty else { continue }
            let words = cmdline.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            if let first = words.first {
                // PostgreSQL children rewrite their title to "postgres: …".
                programs.insert(String((first.split(separator: " ").first.map(String.init) ?? first).split(separator: "/").last ?? "")
                    .trimmingCharacters(in: CharacterSet(charactersIn: ":")))
            }
            if cmdline.range(of: secret) != nil { leaks.append("argv of \(pid): \(words.joined(separator: " "))") }
            // Readable for our own user's processes only: pgarchive, PostgreSQL and its tools.
            if let environ = fm.contents(atPath: "/proc/\(pid)/environ"), environ.range(of: secret) != nil {
                leaks.append("environment of \(pid) (\(words.first ?? "?"))")
            }
        }
        var clones: [String: String] = [:]
        // `.creating-PID-NAME` is a clone being prepared (still the standby's settings, no
        // server runs in it); it becomes NAME once its settings are written.
        for name in (try? fm.contentsOfDirectory(atPath: clonesDirectory)) ?? [] where !name.hasPrefix(".") {
            guard let text = try? String(contentsOfFile: clonesDirectory + "/" + name + "/postgresql.conf", encoding: .utf8),
                  let entries = try? ConfigFile.parse(text, file: "postgresql.conf"),
                  let listen = entries.last(where: { $0.key == "listen_addresses" })?.value
            else { continue }
            clones[name] = listen
        }
        lock.withLock {
            _samples += 1
            _leaks += leaks.filter { !_leaks.contains($0) }
            _programs.formUnion(programs)
            _clones.merge(clones) { _, new in new }
        }
    }
}

/// The machine's first IPv4 address that is not loopback, if it has one.
enum NonLoopbackAddress {
    static func first() -> String? {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0, let head = list else { return nil }
        defer { freeifaddrs(head) }
        var current: UnsafeMutablePointer<ifaddrs>? = head
        while let entry = current {
            defer { current = entry.pointee.ifa_next }
            guard let address = entry.pointee.ifa_addr, address.pointee.sa_family == sa_family_t(AF_INET),
                  entry.pointee.ifa_flags & UInt32(IFF_LOOPBACK) == 0, entry.pointee.ifa_flags & UInt32(IFF_UP) != 0
            else { continue }
            var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            guard getnameinfo(address, socklen_t(MemoryLayout<sockaddr_in>.size), &host, socklen_t(host.count), nil, 0, NI_NUMERICHOST) == 0
            else { continue }
            return String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        return nil
    }
}

extension String {
    /// Appends this text to the file at `path` (a config line in a test).
    func appendAsLine(to path: String) throws {
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: path))
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(utf8))
    }
}
