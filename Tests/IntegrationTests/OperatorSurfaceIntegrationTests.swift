import Foundation
import PGArchiveCore
import PGArchiveTestSupport
import Postgres
import XCTest

/// What operators use around the archive: bash completion (generated script, dynamic names
/// of the container on the line, completed by a real bash calling the built binary) and
/// Prometheus metrics of real containers.
final class OperatorSurfaceIntegrationTests: XCTestCase {
    var upstreams: [UpstreamCluster] = []
    var containers: [ContainerFixture] = []
    /// Containers made without a fixture (beside a fixture's, under one --root).
    var extraContainers: [String] = []
    let binary = PGArchiveBinary()

    override func tearDown() async throws {
        for path in extraContainers { _ = try? await binary.run(["container", "purge", "--force", "-C", path]) }
        for container in containers.reversed() { await container.destroy() }
        for upstream in upstreams.reversed() { await upstream.destroy() }
        extraContainers = []
        containers = []
        upstreams = []
    }

    func makeUpstream(_ name: String = "upstream") async throws -> UpstreamCluster {
        let upstream = try await UpstreamCluster(name: name)
        upstreams.append(upstream)
        return upstream
    }

    func makeContainer(_ name: String = "c") throws -> ContainerFixture {
        let container = try ContainerFixture(name: name)
        containers.append(container)
        return container
    }

    /// A snapshot at a new restartpoint: CHECKPOINT upstream (a second after the last one,
    /// as snapshots are named after the checkpoint's second), close the segment, wait until
    /// the standby replayed past it, `snapshot create`. Returns the snapshot's name.
    @discardableResult
    func freshSnapshot(_ container: ContainerFixture, _ upstream: UpstreamCluster,
                       file: StaticString = #filePath, line: UInt = #line) async throws -> String {
        try await Task.sleep(for: .milliseconds(1100))
        try upstream.sql("CHECKPOINT")
        let switched = try XCTUnwrap(upstream.scalar("SELECT pg_switch_wal()"), file: file, line: line)
        let replayed = await eventually(timeout: 90) {
            container.standbyScalar("SELECT pg_last_wal_replay_lsn() >= '\(switched)'::pg_lsn") == "t"
        }
        XCTAssertTrue(replayed, "the standby did not replay past \(switched)", file: file, line: line)
        let result = try await container.ok(["snapshot", "create"], file: file, line: line)
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static var packageRoot: String {
        // Tests/IntegrationTests/<this file> → package root.
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }

    // MARK: - bash completion

    /// A result of completing a line in bash.
    struct Completion: CustomStringConvertible {
        var line: String
        var replies: [String]
        var status: Int32
        var stderr: String
        var description: String { "completing '\(line)': exit \(status), COMPREPLY \(replies), stderr: \(stderr)" }
    }

    /// Splits a command line the way bash does for programmable completion, the cursor at
    /// the end: words at blanks, and each run of the COMP_WORDBREAKS characters `:` and `=`
    /// a word of its own. Returns COMP_WORDS, and the word being completed and the one before
    /// as bash passes them ($2 is empty right after a `:`). Enough for the unquoted lines here.
    static func bashCompletionWords(_ line: String) -> (words: [String], cur: String, prev: String) {
        var words: [String] = []
        var word = ""
        var wordIsBreak = false
        for c in line {
            if c == " " {
                if !word.isEmpty { words.append(word); word = "" }
                continue
            }
            let isBreak = c == ":" || c == "="
            if !word.isEmpty && isBreak != wordIsBreak { words.append(word); word = "" }
            word.append(c)
            wordIsBreak = isBreak
        }
        if !word.isEmpty || line.hasSuffix(" ") { words.append(word) }
        let last = words.last ?? ""
        let cur = (last.first == ":" || last.first == "=") ? "" : last
        return (words, cur, words.count > 1 ? words[words.count - 2] : "")
    }

    /// Loads `pgarchive bash-completion` into a bash as an operator would
    /// (`eval "$(pgarchive bash-completion)"`), with the built binary first in PATH (the
    /// script calls `pgarchive ---completion …` for names), sets COMP_WORDS, COMP_CWORD,
    /// COMP_LINE and COMP_POINT for `line` and calls the registered completion function.
    func complete(_ line: String, environment: [String: String?] = [:]) async throws -> Completion {
        let (words, cur, prev) = Self.bashCompletionWords(line)
        let script = #"""
            eval "$(pgarchive bash-completion)" || exit 90
            spec="$(complete -p pgarchive)" || exit 91
            function="${spec##*-F }"
            function="${function%% *}"
            COMP_LINE="${TEST_COMP_LINE}"
            COMP_POINT="${#COMP_LINE}"
            COMP_WORDS=("$@")
            COMP_CWORD=$(($# - 1))
            COMPREPLY=()
            "${function}" pgarchive "${TEST_CUR}" "${TEST_PREV}"
            status=$?
            ((${#COMPREPLY[@]})) && printf '%s\n' "${COMPREPLY[@]}"
            exit "${status}"
            """#
        let binDirectory = (binary.path as NSString).deletingLastPathComponent
        var env: [String: String?] = [
            "PATH": binDirectory + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"),
            "TEST_COMP_LINE": line, "TEST_CUR": cur, "TEST_PREV": prev, "PGARCHIVE": nil,
        ]
        for (key, value) in binary.environment { env[key] = value }
        for (key, value) in environment { env[key] = value }
        let output = try await ToolCommand(executable: "/bin/bash", arguments: ["-c", script, "bash"] + words, environment: env).run()
        return Completion(line: line, replies: output.standardOutput.split(separator: "\n").map(String.init),
                          status: output.exitCode ?? -1, stderr: output.standardError)
    }

    func testCheckedInCompletionScriptIsTheGeneratedOne() async throws {
        let generated = try await binary.run(["bash-completion"])
        XCTAssertEqual(generated.exitCode, 0, "\(generated)")
        XCTAssertEqual(generated.stderr, "")
        let file = Self.packageRoot + "/completions/pgarchive.bash"
        let checkedIn = try String(contentsOfFile: file, encoding: .utf8)
        XCTAssertTrue(checkedIn == generated.stdout, """
            completions/pgarchive.bash differs from `pgarchive bash-completion` (a command, option or \
            completion changed); regenerate it from the package root with:
                swift build && .build/debug/pgarchive bash-completion > completions/pgarchive.bash
            """)
        XCTAssertTrue(generated.stdout.contains("complete -o filenames -F __pgarchive_complete pgarchive\n"), generated.stdout)
        // It is valid bash.
        let syntax = try await ToolCommand(executable: "/bin/bash", arguments: ["-n", file]).run()
        XCTAssertEqual(syntax.exitCode, 0, syntax.standardError)
    }

    func testCompletionWithoutAContainerOffersNothingAndSucceeds() async throws {
        let commands = try await complete("pgarchive clo")
        XCTAssertEqual(commands.replies, ["clone"], "\(commands)")
        let verbs = try await complete("pgarchive snapshot d")
        XCTAssertEqual(verbs.replies, ["delete"], "\(verbs)")

        for line in ["pgarchive clone start -C /nonexistent/container ", "pgarchive snapshot delete --container=/nonexistent ",
                     "pgarchive clone start ", "pgarchive clone create --snapshot 2026-11-21T08:"] {
            let result = try await complete(line)
            XCTAssertEqual(result.status, 0, "\(result)")
            XCTAssertEqual(result.replies, [], "\(result)")
            XCTAssertEqual(result.stderr, "", "\(result)")
        }
        let viaEnvironment = try await complete("pgarchive clone start ", environment: ["PGARCHIVE": "/nonexistent"])
        XCTAssertEqual(viaEnvironment.replies, [], "\(viaEnvironment)")
        XCTAssertEqual(viaEnvironment.status, 0)

        // The binary's side of it: nothing printed, exit 0, even as the script calls it.
        let direct = try await binary.run(["---completion", "clone", "start", "--", "positional@0", "5", "0",
                                           "pgarchive", "clone", "start", "-C", "/nonexistent", ""])
        XCTAssertEqual(direct.exitCode, 0, "\(direct)")
        XCTAssertEqual(direct.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "", "\(direct)")
        XCTAssertEqual(direct.stderr, "", "\(direct)")
    }

    func testBashCompletesNamesOfTheContainerOnTheLine() async throws {
        let upstream = try await makeUpstream()
        let container = try makeContainer()
        try await container.initContainer(upstream: upstream)
        let first = try await freshSnapshot(container, upstream)
        let second = try await freshSnapshot(container, upstream)
        XCTAssertNotEqual(first, second)
        // Every snapshot, the one `container init` may take included.
        let all = Set(try SnapshotStore(layout: container.layout).list().map(\.name))
        XCTAssertTrue(all.isSuperset(of: [first, second]), "\(all)")
        try await container.ok(["clone", "create", "audit", "--latest"])
        try await container.ok(["clone", "create", "before-drop", "--immediate"])
        try await container.ok(["restorepoint", "create", "before-upgrade"])
        let path = container.path

        // Clone names: -C on the line (before or after the word), --container=, $PGARCHIVE.
        for line in ["pgarchive clone start -C \(path) ", "pgarchive clone start --container \(path) ",
                     "pgarchive clone start --container=\(path) ", "pgarchive clone delete -C \(path) audit "] {
            let result = try await complete(line)
            XCTAssertEqual(result.status, 0, "\(result)")
            XCTAssertEqual(Set(result.replies), line.hasSuffix("audit ") ? ["before-drop"] : ["audit", "before-drop"], "\(result)")
        }
        let directoryAfterEquals = try await complete("pgarchive clone start --container=\(path.dropLast())")
        XCTAssertEqual(directoryAfterEquals.replies, [path], "\(directoryAfterEquals)")
        let viaEnvironment = try await complete("pgarchive clone start ", environment: ["PGARCHIVE": path])
        XCTAssertEqual(Set(viaEnvironment.replies), ["audit", "before-drop"], "\(viaEnvironment)")
        let prefixed = try await complete("pgarchive clone start b", environment: ["PGARCHIVE": path])
        XCTAssertEqual(prefixed.replies, ["before-drop"], "\(prefixed)")
        let onTheLineWins = try await complete("pgarchive clone start -C \(path) ", environment: ["PGARCHIVE": "/nonexistent"])
        XCTAssertEqual(Set(onTheLineWins.replies), ["audit", "before-drop"], "\(onTheLineWins)")

        // Snapshot names, which hold colons: bash splits words at ':', and replaces only the
        // text after the last one, so that is what is offered once a colon is typed.
        let snapshots = try await complete("pgarchive snapshot delete -C \(path) ")
        XCTAssertEqual(Set(snapshots.replies), all, "\(snapshots)")
        let viaEnvSnapshots = try await complete("pgarchive snapshot delete ", environment: ["PGARCHIVE": path])
        XCTAssertEqual(Set(viaEnvSnapshots.replies), all, "\(viaEnvSnapshots)")
        /// What bash should offer when `typed` is the word so far: the rest after its last colon.
        func offered(_ typed: String) -> Set<String> {
            let kept = typed.lastIndex(of: ":").map { typed[...$0].count } ?? 0
            return Set(all.filter { $0.hasPrefix(typed) }.map { String($0.dropFirst(kept)) })
        }
        let upToColon = String(first[...first.firstIndex(of: ":")!]) // e.g. 2026-11-21T08:
        let afterColon = try await complete("pgarchive snapshot delete -C \(path) \(upToColon)")
        XCTAssertEqual(Set(afterColon.replies), offered(upToColon), "\(afterColon)")
        XCTAssertFalse(afterColon.replies.isEmpty)
        let almostAll = String(first.dropLast(2)) // e.g. 2026-11-21T08:15:0
        let restOfFirst = try await complete("pgarchive snapshot delete \(almostAll)", environment: ["PGARCHIVE": path])
        XCTAssertEqual(Set(restOfFirst.replies), offered(almostAll), "\(restOfFirst)")
        XCTAssertTrue(restOfFirst.replies.contains(String(first[first.index(after: first.lastIndex(of: ":")!)...])), "\(restOfFirst)")
        let snapshotOption = try await complete("pgarchive clone create -C \(path) --snapshot ")
        XCTAssertEqual(Set(snapshotOption.replies), all, "\(snapshotOption)")
        let afterName = try await complete("pgarchive clone create x --snapshot ", environment: ["PGARCHIVE": path])
        XCTAssertEqual(Set(afterName.replies), all, "clone create x --snapshot <TAB>: \(afterName)")
        let snapshotOptionEquals = try await complete("pgarchive clone create --container=\(path) --snapshot=\(upToColon)")
        XCTAssertEqual(Set(snapshotOptionEquals.replies), offered(upToColon), "\(snapshotOptionEquals)")

        // Restore point names.
        let points = try await complete("pgarchive clone create x --restore-point ", environment: ["PGARCHIVE": path])
        XCTAssertEqual(points.replies, ["before-upgrade"], "\(points)")

        // The names offered are the ones pgarchive accepts.
        let status = try await container.run(["clone", "status", "audit"])
        XCTAssertTrue(status.stdout.hasPrefix("audit: "), "\(status)")
    }

    // MARK: - metrics

    /// Sample lines of the exposition: "name{labels}" → value; fails on a line that is not
    /// a HELP, TYPE or sample line.
    func parseExposition(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> [String: Double] {
        var samples: [String: Double] = [:]
        let sample = #/^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*",?)*\})? (\S+)$/#
        let help = #/^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* \S.*$/#
        let type = #/^# TYPE [a-zA-Z_:][a-zA-Z0-9_:]* (gauge|counter|untyped)$/#
        XCTAssertTrue(text.hasSuffix("\n"), "the exposition ends with a newline", file: file, line: line)
        for textLine in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
            let s = String(textLine)
            if let m = s.wholeMatch(of: sample) {
                let value = Double(String(m.output.5))
                XCTAssertNotNil(value, "bad value in \(s)", file: file, line: line)
                samples[String(s[..<s.lastIndex(of: " ")!])] = value
            } else {
                XCTAssertTrue(s.wholeMatch(of: help) != nil || s.wholeMatch(of: type) != nil, "not an exposition line: \(s)", file: file, line: line)
            }
        }
        return samples
    }

    func testMetricsOfRealContainers() async throws {
        let upstream = try await makeUpstream()
        let container = try makeContainer("a")
        try await container.initContainer(upstream: upstream)
        try await freshSnapshot(container, upstream)
        try await container.ok(["cron", "compress-wal"])
        let c = "{container=\"\(container.path)\"}"

        // Poll until the slot shows the receiver streaming (right after init it may not yet).
        var samples: [String: Double] = [:]
        var last = try await container.run(["metrics"])
        _ = try await eventually(timeout: 60) {
            last = try await container.run(["metrics"])
            samples = parseExposition(last.stdout)
            return last.exitCode == 0 && samples["pgarchive_health" + c] == 0
        }
        XCTAssertEqual(last.exitCode, 0, "\(last)")
        XCTAssertEqual(samples["pgarchive_up" + c], 1, last.stdout)
        XCTAssertEqual(samples["pgarchive_health" + c], 0, last.stdout)
        XCTAssertEqual(samples["pgarchive_receiver_running" + c], 1, last.stdout)
        XCTAssertEqual(samples["pgarchive_standby_running" + c], 1, last.stdout)
        XCTAssertEqual(samples["pgarchive_upstream_reachable" + c], 1, last.stdout)
        XCTAssertEqual(samples["pgarchive_slot_active" + c], 1, last.stdout)
        XCTAssertEqual(samples["pgarchive_retired" + c], 0, last.stdout)
        XCTAssertEqual(samples["pgarchive_wal_missing_segments" + c], 0, last.stdout)
        XCTAssertGreaterThanOrEqual(samples["pgarchive_snapshots" + c] ?? 0, 1, last.stdout)
        XCTAssertGreaterThan(samples["pgarchive_wal_archive_bytes" + c] ?? 0, 0, last.stdout)
        XCTAssertGreaterThan(samples["pgarchive_filesystem_free_bytes" + c] ?? 0, 0, last.stdout)
        XCTAssertGreaterThanOrEqual(samples["pgarchive_filesystem_size_bytes" + c] ?? 0, samples["pgarchive_filesystem_free_bytes" + c] ?? 1, last.stdout)
        XCTAssertGreaterThanOrEqual(samples["pgarchive_replay_lag_bytes" + c] ?? -1, 0, last.stdout)
        XCTAssertEqual(samples["pgarchive_clones" + c], 0, last.stdout)
        XCTAssertEqual(samples["pgarchive_clones_running" + c], 0, last.stdout)
        let now = Date().timeIntervalSince1970
        let age = try XCTUnwrap(samples["pgarchive_newest_snapshot_age_seconds" + c], last.stdout)
        XCTAssertTrue((0..<600).contains(age), "newest snapshot age \(age)")
        let oldest = try XCTUnwrap(samples["pgarchive_oldest_restorable_timestamp_seconds" + c], last.stdout)
        let newest = try XCTUnwrap(samples["pgarchive_newest_restorable_timestamp_seconds" + c], last.stdout)
        XCTAssertTrue(oldest > now - 600 && oldest <= now, "oldest restorable \(oldest), now \(now)")
        XCTAssertTrue(newest >= oldest - 5 && newest <= now + 1, "newest restorable \(newest), oldest \(oldest), now \(now)")
        let job = "{container=\"\(container.path)\",job=\"compress-wal\"}"
        XCTAssertEqual(samples["pgarchive_cron_last_result" + job], 0, last.stdout)
        let ran = try XCTUnwrap(samples["pgarchive_cron_last_run_timestamp_seconds" + job], last.stdout)
        XCTAssertTrue(ran > now - 600 && ran <= now, "last run \(ran)")
        XCTAssertEqual(samples["pgarchive_cron_last_success_timestamp_seconds" + job], ran, last.stdout)

        // --output: written atomically, readable by node_exporter, no temporary file left.
        let outDirectory = container.scratch + "/textfile"
        try FileManager.default.createDirectory(atPath: outDirectory, withIntermediateDirectories: true)
        let outFile = outDirectory + "/pgarchive.prom"
        for _ in 0..<2 { // the second run replaces the file
            let written = try await container.run(["metrics", "--output", outFile])
            XCTAssertEqual(written.exitCode, 0, "\(written)")
            XCTAssertEqual(written.stdout, "", "nothing on stdout with --output")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: outDirectory), ["pgarchive.prom"])
        var st = stat()
        XCTAssertEqual(stat(outFile, &st), 0)
        XCTAssertEqual(st.st_mode & 0o777, 0o644)
        let fromFile = parseExposition(try String(contentsOfFile: outFile, encoding: .utf8))
        XCTAssertEqual(fromFile["pgarchive_health" + c], 0)
        XCTAssertEqual(fromFile["pgarchive_snapshots" + c], samples["pgarchive_snapshots" + c])
        let badOutput = try await container.run(["metrics", "--output", container.scratch + "/no/such/dir/m.prom"])
        XCTAssertEqual(badOutput.exitCode, 1, "\(badOutput)")
        XCTAssertTrue(badOutput.stderr.hasPrefix("pgarchive: error: cannot write "), "\(badOutput)")

        // --root: every container under a directory, the unreadable one as pgarchive_up 0.
        let root = container.scratch
        let second = root + "/b"
        extraContainers.append(second)
        let initSecond = try await binary.run(["container", "init", "--upstream", upstream.conninfo, "-C", second])
        XCTAssertEqual(initSecond.exitCode, 0, "\(initSecond)")
        let broken = root + "/broken"
        try FileManager.default.createDirectory(atPath: broken, withIntermediateDirectories: true)
        try "no_such_setting = 1\n".write(toFile: broken + "/pgarchive.conf", atomically: true, encoding: .utf8)
        let all = try await binary.run(["metrics", "--root", root])
        XCTAssertEqual(all.exitCode, 0, "\(all)")
        let allSamples = parseExposition(all.stdout)
        XCTAssertEqual(allSamples["pgarchive_up{container=\"\(container.path)\"}"], 1, all.stdout)
        XCTAssertEqual(allSamples["pgarchive_up{container=\"\(second)\"}"], 1, all.stdout)
        XCTAssertEqual(allSamples["pgarchive_up{container=\"\(broken)\"}"], 0, all.stdout)
        XCTAssertNotNil(allSamples["pgarchive_health{container=\"\(container.path)\"}"], all.stdout)
        XCTAssertNotNil(allSamples["pgarchive_health{container=\"\(second)\"}"], all.stdout)
        XCTAssertEqual(allSamples["pgarchive_receiver_running{container=\"\(second)\"}"], 1, all.stdout)
        let secondSnapshots = try SnapshotStore(layout: ContainerLayout(root: second)).list().count
        XCTAssertEqual(allSamples["pgarchive_snapshots{container=\"\(second)\"}"], Double(secondSnapshots), all.stdout)
        XCTAssertFalse(all.stdout.contains("textfile"), "a directory without pgarchive.conf is no container")
        XCTAssertEqual(all.stdout.components(separatedBy: "# HELP pgarchive_health ").count, 2, "one HELP line per metric")
        XCTAssertTrue(all.stderr.contains("pgarchive: warning: \(broken): "), "\(all)")

        let both = try await container.run(["metrics", "--root", root])
        XCTAssertEqual(both.exitCode, 1, "\(both)")
        XCTAssertTrue(both.stderr.contains("give either --root DIR or --container/-C PATH, not both"), "\(both)")
        let missingRoot = try await binary.run(["metrics", "--root", root + "/nonexistent"])
        XCTAssertEqual(missingRoot.exitCode, 1, "\(missingRoot)")
    }
}
