import Foundation
import PGArchiveCore
import XCTest

/// `pgarchive metrics`: the Prometheus text exposition of made-up statuses.
final class MetricsTests: XCTestCase {
    func status(_ path: String = "/srv/pgarchive/main") -> ContainerStatus {
        var s = try! JSONDecoder().decode(ContainerStatus.self, from: Data("""
            {"container": "/", "retired": false, "missingSegments": [],
             "receiver": {"state": "running", "pid": 10, "detail": "running (pid 10)"},
             "standby": {"state": "running", "pid": 11, "detail": "running (pid 11)"},
             "upstreamReachable": true, "schemaVersion": 1, "cronRuns": [], "snapshotCount": 0,
             "cloneCount": 0, "clonesRunning": 0, "walArchiveBytes": 0, "health": "ok", "problems": []}
            """.utf8))
        s.container = path
        s.slotActive = true
        s.replayLagBytes = 8192
        s.replayLagSeconds = 1.5
        s.walArchiveBytes = 123_456_789_012
        s.snapshotCount = 3
        s.newestSnapshotAgeSeconds = 1800
        s.oldestRestorableTime = Date(timeIntervalSince1970: 1_800_000_000.25)
        s.newestRestorableTime = Date(timeIntervalSince1970: 1_800_086_400)
        s.cloneCount = 2
        s.clonesRunning = 1
        s.fileSystemSizeBytes = 100 << 30
        s.fileSystemFreeBytes = 50 << 30
        s.cronRuns = [
            cronRun("compress-wal", finished: 1_800_000_160, .ok),
            cronRun("expire-and-create-snapshot", finished: 1_800_000_230, .failed),
            cronRun("watchdog", finished: 1_800_000_300, .busy),
        ]
        return s
    }

    /// A CronRun as run/cron_<job>.json holds it.
    func cronRun(_ job: String, finished: TimeInterval, _ result: CronRun.Result) -> CronRun {
        let at = ISO8601.utcMicroseconds(Date(timeIntervalSince1970: finished))
        return try! SnapshotStore.decoder.decode(CronRun.self, from: Data("""
            {"job": "\(job)", "startedAt": "\(at)", "finishedAt": "\(at)", "result": "\(result.rawValue)", "message": "m", "pid": 42}
            """.utf8))
    }

    /// Sample lines as "name{labels}" → value.
    func samples(_ text: String) -> [String: String] {
        var result: [String: String] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let parts = line.split(separator: " ")
            XCTAssertEqual(parts.count, 2, "sample line \(line)")
            result[String(parts[0])] = String(parts[1])
        }
        return result
    }

    func testEveryFigureOfAHealthyContainer() {
        let text = ContainerMetrics.render([.init(path: "/srv/pgarchive/main", status: status(),
                                                  cronLastSuccess: ["compress-wal": Date(timeIntervalSince1970: 1_800_000_160)])])
        let s = samples(text)
        let c = #"{container="/srv/pgarchive/main"}"#
        XCTAssertEqual(s["pgarchive_up" + c], "1")
        XCTAssertEqual(s["pgarchive_health" + c], "0")
        XCTAssertEqual(s["pgarchive_retired" + c], "0")
        XCTAssertEqual(s["pgarchive_receiver_running" + c], "1")
        XCTAssertEqual(s["pgarchive_standby_running" + c], "1")
        XCTAssertEqual(s["pgarchive_upstream_reachable" + c], "1")
        XCTAssertEqual(s["pgarchive_slot_active" + c], "1")
        XCTAssertEqual(s["pgarchive_replay_lag_bytes" + c], "8192")
        XCTAssertEqual(s["pgarchive_replay_lag_seconds" + c], "1.5")
        XCTAssertEqual(s["pgarchive_wal_archive_bytes" + c], "123456789012")
        XCTAssertEqual(s["pgarchive_wal_missing_segments" + c], "0")
        XCTAssertEqual(s["pgarchive_snapshots" + c], "3")
        XCTAssertEqual(s["pgarchive_newest_snapshot_age_seconds" + c], "1800")
        XCTAssertEqual(s["pgarchive_oldest_restorable_timestamp_seconds" + c], "1800000000.25")
        XCTAssertEqual(s["pgarchive_newest_restorable_timestamp_seconds" + c], "1800086400")
        XCTAssertEqual(s["pgarchive_clones" + c], "2")
        XCTAssertEqual(s["pgarchive_clones_running" + c], "1")
        XCTAssertEqual(s["pgarchive_filesystem_free_bytes" + c], "53687091200")
        XCTAssertEqual(s["pgarchive_filesystem_size_bytes" + c], "107374182400")
        XCTAssertEqual(s["pgarchive_filesystem_space_level" + c], "0")
        XCTAssertEqual(s["pgarchive_no_space_errors" + c], "0")

        func job(_ name: String) -> String { #"{container="/srv/pgarchive/main",job=""# + name + #""}"# }
        XCTAssertEqual(s["pgarchive_cron_last_run_timestamp_seconds" + job("compress-wal")], "1800000160")
        XCTAssertEqual(s["pgarchive_cron_last_result" + job("compress-wal")], "0")
        XCTAssertEqual(s["pgarchive_cron_last_result" + job("expire-and-create-snapshot")], "1")
        XCTAssertEqual(s["pgarchive_cron_last_result" + job("watchdog")], "2")
        XCTAssertEqual(s["pgarchive_cron_last_success_timestamp_seconds" + job("compress-wal")], "1800000160")
        XCTAssertNil(s["pgarchive_cron_last_success_timestamp_seconds" + job("expire-and-create-snapshot")], "a failed last run tells no success time")
        XCTAssertEqual(s["pgarchive_tablespace_refused" + c], "0")
        XCTAssertEqual(s["pgarchive_upstream_changed" + c], "0")
        XCTAssertEqual(s.count, 21 + 3 + 3 + 1 + 1 + 1 + 1) // + slot_lost (retained and safe size unknown here) + tablespace_refused + upstream_changed
    }

    func testEachFamilyHasOneHelpAndTypeLineBeforeAllItsSamples() {
        var down = status("/srv/b")
        down.health = .down
        down.receiver.state = "stopped"
        down.upstreamReachable = false
        down.slotActive = nil
        down.replayLagBytes = nil
        down.replayLagSeconds = nil
        let text = ContainerMetrics.render([.init(path: "/srv/a", status: status("/srv/a")), .init(path: "/srv/b", status: down),
                                            .init(path: "/srv/broken", status: nil, error: "bad line 3")])
        var seen: [String] = []
        var current = ""
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
            if line.hasPrefix("# HELP ") {
                current = String(line.split(separator: " ")[2])
                XCTAssertFalse(seen.contains(current), "\(current) described twice")
                seen.append(current)
            } else if line.hasPrefix("# TYPE ") {
                XCTAssertEqual(line, "# TYPE \(current) gauge")
            } else {
                XCTAssertTrue(line.hasPrefix(current + "{"), "\(line) is not under its family \(current)")
            }
        }
        XCTAssertTrue(text.hasSuffix("\n"))
        XCTAssertEqual(seen.count, 35)
        let s = samples(text)
        XCTAssertEqual(s[#"pgarchive_up{container="/srv/broken"}"#], "0")
        XCTAssertNil(s[#"pgarchive_health{container="/srv/broken"}"#], "nothing else is claimed about an unreadable container")
        XCTAssertEqual(s[#"pgarchive_health{container="/srv/b"}"#], "2")
        XCTAssertEqual(s[#"pgarchive_receiver_running{container="/srv/b"}"#], "0")
        XCTAssertNil(s[#"pgarchive_slot_active{container="/srv/b"}"#], "unknown while the upstream is unreachable")
        XCTAssertNil(s[#"pgarchive_replay_lag_bytes{container="/srv/b"}"#])
        XCTAssertEqual(s[#"pgarchive_replay_lag_bytes{container="/srv/a"}"#], "8192")
        // The samples of one family are together, in the order of the containers.
        XCTAssertTrue(text.contains("pgarchive_health{container=\"/srv/a\"} 0\npgarchive_health{container=\"/srv/b\"} 2\n# HELP"), text)
    }

    func testLowAndFullDisk() {
        let c = #"{container="/srv/pgarchive/main"}"#
        var low = status()
        low.fileSystemWarningBytes = 60 << 30
        low.fileSystemCriticalBytes = 10 << 30
        XCTAssertEqual(samples(ContainerMetrics.render([.init(path: "/srv/pgarchive/main", status: low)]))["pgarchive_filesystem_space_level" + c], "1")
        low.fileSystemFreeBytes = 5 << 30
        XCTAssertEqual(samples(ContainerMetrics.render([.init(path: "/srv/pgarchive/main", status: low)]))["pgarchive_filesystem_space_level" + c], "2")
        var full = status()
        full.noSpaceErrors = ["logs/pg_receivewal.log says: could not write: No space left on device", "logs/standby.log says: No space left on device"]
        let s = samples(ContainerMetrics.render([.init(path: "/srv/pgarchive/main", status: full)]))
        XCTAssertEqual(s["pgarchive_filesystem_space_level" + c], "2", "a write failed for want of space, whatever statvfs says")
        XCTAssertEqual(s["pgarchive_no_space_errors" + c], "2")
        var retired = status()
        retired.retired = true
        XCTAssertNil(samples(ContainerMetrics.render([.init(path: "/srv/pgarchive/main", status: retired)]))["pgarchive_no_space_errors" + c])
    }

    func testSlotMissingOnAReachableUpstreamIsZero() {
        var s = status()
        s.slotActive = nil
        XCTAssertEqual(samples(ContainerMetrics.render([.init(path: "/c", status: s)]))[#"pgarchive_slot_active{container="/c"}"#], "0")
    }

    func testLabelValuesAndHelpAreEscaped() {
        XCTAssertEqual(PrometheusExposition.escapeLabelValue(#"a\b"c"# + "\nd"), #"a\\b\"c\nd"#)
        XCTAssertEqual(PrometheusExposition.escapeHelp("a\\b \"q\"\nc"), #"a\\b "q"\nc"#)
        let path = "/srv/we\"ird\\dir\nname"
        let text = ContainerMetrics.render([.init(path: path, status: status(path))])
        XCTAssertTrue(text.contains(#"pgarchive_up{container="/srv/we\"ird\\dir\nname"} 1"#), text)
        XCTAssertFalse(text.contains("\nname"), "a raw line feed would break the line-based format")
        let family = PrometheusExposition.Family(name: "x", help: "line1\nline2 \\", samples: [.init(labels: [], value: 1)])
        XCTAssertEqual(PrometheusExposition.render([family]), "# HELP x line1\\nline2 \\\\\n# TYPE x gauge\nx 1\n")
    }

    func testNumbers() {
        XCTAssertEqual(PrometheusExposition.format(0), "0")
        XCTAssertEqual(PrometheusExposition.format(-3), "-3")
        XCTAssertEqual(PrometheusExposition.format(1.5), "1.5")
        XCTAssertEqual(PrometheusExposition.format(9_007_199_254_740_991), "9007199254740991")
        XCTAssertEqual(Double(PrometheusExposition.format(1e300)), 1e300)
        XCTAssertEqual(PrometheusExposition.format(.nan), "NaN")
        XCTAssertEqual(PrometheusExposition.format(.infinity), "+Inf")
        XCTAssertEqual(PrometheusExposition.format(-.infinity), "-Inf")
    }

    func testEmptyInputStillDescribesEveryFamily() {
        let text = ContainerMetrics.render([])
        XCTAssertEqual(text.split(separator: "\n").count, 70)
        XCTAssertTrue(text.split(separator: "\n").allSatisfy { $0.hasPrefix("# ") })
    }

    func testContainersUnderARootAreTheSubdirectoriesWithAConfig() throws {
        let root = NSTemporaryDirectory() + "metrics-root-\(getpid())-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        for name in ["b", "a", ".hidden", "not-a-container"] {
            try FileManager.default.createDirectory(atPath: root + "/" + name, withIntermediateDirectories: true)
            if name != "not-a-container" { FileManager.default.createFile(atPath: root + "/\(name)/pgarchive.conf", contents: Data()) }
        }
        FileManager.default.createFile(atPath: root + "/pgarchive.conf", contents: Data())
        XCTAssertEqual(try ContainerMetrics.containers(under: root), [root + "/a", root + "/b"])
        XCTAssertThrowsError(try ContainerMetrics.containers(under: root + "/nope"))
    }
}

/// Shell completion of names: directory listings of a hand-made container, and reading the
/// container from the words on the command line.
final class CompletionNamesTests: XCTestCase {
    var root = ""

    override func setUpWithError() throws {
        root = NSTemporaryDirectory() + "completion-\(getpid())-\(UUID().uuidString)/c"
        let fm = FileManager.default
        for dir in ["snapshots/2026-11-21T08:15:00Z", "snapshots/2026-11-22T08:15:00Z", "snapshots/.creating-99",
                    "snapshots/2026-11-23T08:15:00Z", // no metadata: incomplete
                    "clones/before-drop", "clones/audit", "clones/half-made",
                    "dumps/sales", "dumps/app db", "dumps/.tmp-x"] {
            try fm.createDirectory(atPath: root + "/" + dir, withIntermediateDirectories: true)
        }
        fm.createFile(atPath: root + "/pgarchive.conf", contents: Data())
        for name in ["2026-11-21T08:15:00Z", "2026-11-22T08:15:00Z", "2026-11-20T08:15:00Z" /* metadata without directory */] {
            fm.createFile(atPath: root + "/snapshots/\(name).json", contents: Data("{}".utf8))
        }
        fm.createFile(atPath: root + "/clones/before-drop/pgarchive.clone.json", contents: Data("{}".utf8))
        fm.createFile(atPath: root + "/clones/audit/pgarchive.clone.json", contents: Data("{}".utf8))
        fm.createFile(atPath: root + "/dumps/not-a-db.txt", contents: Data())
        fm.createFile(atPath: root + "/restore_points.json", contents: Data("""
            [{"name": "before-upgrade", "lsn": "0/3000028", "createdAt": "2026-11-21T08:15:00.000000Z"},
             {"name": "after-upgrade", "lsn": "0/4000028", "createdAt": "2026-11-21T09:15:00.000000Z"}]
            """.utf8))
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: (root as NSString).deletingLastPathComponent)
    }

    func testNamesOfEachKind() {
        XCTAssertEqual(CompletionNames.snapshots(container: root), ["2026-11-21T08:15:00Z", "2026-11-22T08:15:00Z"])
        XCTAssertEqual(CompletionNames.clones(container: root), ["audit", "before-drop"])
        XCTAssertEqual(CompletionNames.restorePoints(container: root), ["before-upgrade", "after-upgrade"])
        XCTAssertEqual(CompletionNames.databases(container: root), ["app db", "sales"])
    }

    func testNothingForAMissingOrBrokenContainer() throws {
        XCTAssertEqual(CompletionNames.snapshots(container: "/nonexistent"), [])
        XCTAssertEqual(CompletionNames.databases(container: "/nonexistent"), [])
        try Data("not json".utf8).write(to: URL(fileURLWithPath: root + "/restore_points.json"))
        XCTAssertEqual(CompletionNames.restorePoints(container: root), [])
        XCTAssertEqual(CompletionNames.candidates(.clones, words: ["pgarchive", "clone", "start", "-C", "/nonexistent", ""], index: 5, prefix: "",
                                                  environment: [:]), [])
        XCTAssertEqual(CompletionNames.candidates(.clones, words: ["pgarchive", "clone", "start", ""], index: 3, prefix: "", environment: [:]), [])
    }

    func testContainerFromTheWordsElseTheEnvironment() {
        let env = ["PGARCHIVE": "/nonexistent", "HOME": (root as NSString).deletingLastPathComponent]
        func path(_ words: [String], _ index: Int? = nil) -> String? {
            CompletionNames.containerPath(words: words, completing: index ?? words.count - 1, environment: env)
        }
        XCTAssertEqual(path(["pgarchive", "clone", "start", "-C", root, ""]), root)
        XCTAssertEqual(path(["pgarchive", "clone", "start", "--container", root, ""]), root)
        XCTAssertEqual(path(["pgarchive", "clone", "start", "--container=" + root, ""]), root)
        XCTAssertEqual(path(["pgarchive", "clone", "start", "--container", "=", root, ""]), root, "bash splits at '='")
        XCTAssertEqual(path(["pgarchive", "clone", "start", "", "-C", root], 3), root, "-C after the word being completed")
        XCTAssertEqual(path(["pgarchive", "clone", "start", "-C", "'\(root)'", ""]), root, "quoted")
        XCTAssertEqual(path(["pgarchive", "clone", "start", "-C", "~/c", ""]), root, "tilde")
        XCTAssertEqual(path(["pgarchive", "clone", "start", "-C", "/nonexistent", "-C", root, ""]), root, "the last one wins")
        XCTAssertNil(path(["pgarchive", "clone", "start", ""]), "$PGARCHIVE is not a container")
        XCTAssertEqual(CompletionNames.containerPath(words: ["pgarchive", "clone", "start", ""], completing: 3, environment: ["PGARCHIVE": root]), root)
        XCTAssertNil(path(["pgarchive", "clone", "psql", "x", "--", "-C", root, ""]), "words after -- go to psql")
        XCTAssertNil(path(["pgarchive", "metrics", "-C", ""]), "completing the -C value itself")
    }

    func testCandidatesFilterByPrefixAndLeaveOutNamesGiven() {
        let env = ["PGARCHIVE": root]
        func complete(_ kind: CompletionNames.Kind, _ words: [String]) -> [String] {
            CompletionNames.candidates(kind, words: words, index: words.count - 1, prefix: words.last!, environment: env)
        }
        XCTAssertEqual(complete(.clones, ["pgarchive", "clone", "start", ""]), ["audit", "before-drop"])
        XCTAssertEqual(complete(.clones, ["pgarchive", "clone", "start", "b"]), ["before-drop"])
        XCTAssertEqual(complete(.snapshots, ["pgarchive", "snapshot", "delete", "2026-11-21T08:15:00Z", "2026"]), ["2026-11-22T08:15:00Z"])
        XCTAssertEqual(complete(.snapshots, ["pgarchive", "snapshot", "delete", #"2026-11-22T08\:"#]), ["2026-11-22T08:15:00Z"],
                       "a colon escaped by an earlier completion")
        XCTAssertEqual(complete(.restorePoints, ["pgarchive", "clone", "create", "--restore-point", "a"]), ["after-upgrade"])
        XCTAssertEqual(complete(.databases, ["pgarchive", "dump", "restore", "'app"]), ["app db"])
    }

    func testUnquote() {
        XCTAssertEqual(BashWords.unquote(#"'a b'"#), "a b")
        XCTAssertEqual(BashWords.unquote(#""a \"b\" \x""#), #"a "b" \x"#)
        XCTAssertEqual(BashWords.unquote(#"a\ b\:c"#), "a b:c")
        XCTAssertEqual(BashWords.unquote("plain"), "plain")
    }
}
