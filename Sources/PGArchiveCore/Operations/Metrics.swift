import Foundation

/// The Prometheus text exposition format (version 0.0.4), for `pgarchive metrics`.
///
/// Written by hand rather than with swift-server/swift-prometheus: that package is a
/// registry of live counters, gauges and histograms for long-running servers (built on
/// swift-atomics and swift-metrics), while `pgarchive metrics` is a one-shot snapshot of
/// gauges, printed or written to a file for node_exporter's textfile collector. Three new
/// package dependencies for about sixty lines of formatting would not pass review
/// (docs/ARCHITECTURE.md, Dependencies). What matters is here: one `# HELP` and one `# TYPE` line per metric
/// family, all samples of a family together, label values escaped (`\\`, `\"`, `\n`),
/// numbers in Go's float syntax (`NaN`, `+Inf`, `-Inf`), and a sample whose value is not
/// known (replay lag while the standby is down) left out rather than reported as 0.
public enum PrometheusExposition {
    public struct Sample: Sendable, Equatable {
        /// Label names and values, in the order they are written.
        public var labels: [Label]
        public var value: Double

        public init(labels: [Label], value: Double) {
            self.labels = labels
            self.value = value
        }
    }

    public struct Label: Sendable, Equatable {
        public var name: String
        public var value: String

        public init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }

    public struct Family: Sendable, Equatable {
        public var name: String
        public var help: String
        public var type: String
        public var samples: [Sample]

        public init(name: String, help: String, type: String = "gauge", samples: [Sample] = []) {
            self.name = name
            self.help = help
            self.type = type
            self.samples = samples
        }
    }

    /// The text of `families`, each with its HELP and TYPE lines, ending in a newline.
    public static func render(_ families: [Family]) -> String {
        var out = ""
        for family in families {
            out += "# HELP \(family.name) \(escapeHelp(family.help))\n"
            out += "# TYPE \(family.name) \(family.type)\n"
            for sample in family.samples {
                out += family.name
                if !sample.labels.isEmpty {
                    out += "{" + sample.labels.map { "\($0.name)=\"\(escapeLabelValue($0.value))\"" }.joined(separator: ",") + "}"
                }
                out += " " + format(sample.value) + "\n"
            }
        }
        return out
    }

    /// Label values escape backslash, double quote and line feed.
    public static func escapeLabelValue(_ value: String) -> String {
        var out = ""
        for c in value.unicodeScalars {
            switch c {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    /// HELP text escapes backslash and line feed (quotes stay as they are).
    public static func escapeHelp(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n")
    }

    /// Whole numbers without a fraction (byte counts stay exact), others in the shortest
    /// form that reads back as the same double.
    public static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 9_007_199_254_740_992 { return String(Int64(value)) }
        return "\(value)"
    }
}

/// Metrics of containers for Prometheus: one set of gauges per container, labelled
/// `container="<absolute path>"`, and per cron job also `job="<job>"`.
public enum ContainerMetrics {
    /// What is known about one container for the metrics.
    public struct Source: Sendable {
        public var path: String
        /// nil when the container could not be opened (`error` says why).
        public var status: ContainerStatus?
        public var error: String?
        /// When each cron job last succeeded, where known.
        public var cronLastSuccess: [String: Date]

        public init(path: String, status: ContainerStatus?, error: String? = nil, cronLastSuccess: [String: Date] = [:]) {
            self.path = path
            self.status = status
            self.error = error
            self.cronLastSuccess = cronLastSuccess
        }
    }

    /// The containers under `root`: its subdirectories holding pgarchive.conf, by name.
    public static func containers(under root: String) throws(PGArchiveError) -> [String] {
        let layout = ContainerLayout(root: root)
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: layout.root) } catch {
            throw PGArchiveError("cannot list --root \(layout.root): \(error.localizedDescription)")
        }
        return names.filter { !$0.hasPrefix(".") }.sorted()
            .map { layout.root + "/" + $0 }
            .filter { FileManager.default.fileExists(atPath: ContainerLayout(root: $0).configFile) }
    }

    /// Opens each container and gathers its status, several at a time (each may wait for an
    /// unreachable upstream's connect timeout). Changes nothing and takes no lock.
    public static func collect(_ paths: [String]) -> [Source] {
        let results = ResultBox(count: paths.count)
        DispatchQueue.concurrentPerform(iterations: paths.count) { i in
            results.set(i, collect(path: paths[i]))
        }
        return results.values
    }

    public static func collect(path: String) -> Source {
        let root = ContainerLayout(root: path).root
        let container: Container
        do { container = try Container.open(path: root) } catch {
            return Source(path: root, status: nil, error: error.message)
        }
        let status = ContainerStatus.gather(container)
        return Source(path: root, status: status, cronLastSuccess: lastCronSuccess(container, runs: status.cronRuns))
    }

    /// The last successful run of each cron job. `run/cron_<job>.json` holds only the last
    /// run, so a success is known from it only while the last run succeeded; a
    /// `run/cron_<job>.last_success.json` (a CronRun, written after each successful run)
    /// is preferred when present.
    static func lastCronSuccess(_ container: Container, runs: [CronRun]) -> [String: Date] {
        var result: [String: Date] = [:]
        for run in runs where run.result == .ok { result[run.job] = run.finishedAt }
        for job in Container.cronJobs {
            let file = container.layout.run + "/cron_\(job).last_success.json"
            if let data = FileManager.default.contents(atPath: file),
               let run = try? SnapshotStore.decoder.decode(CronRun.self, from: data), run.result == .ok {
                result[job] = max(run.finishedAt, result[job] ?? .distantPast)
            }
        }
        return result
    }

    /// The metric families for `sources`, in a fixed order; every family is present (with
    /// its HELP and TYPE) even when no container has a value for it.
    public static func families(_ sources: [Source]) -> [PrometheusExposition.Family] {
        typealias Family = PrometheusExposition.Family
        typealias Sample = PrometheusExposition.Sample
        typealias Label = PrometheusExposition.Label

        func bool(_ value: Bool) -> Double { value ? 1 : 0 }
        func seconds(_ date: Date?) -> Double? { date.map(\.timeIntervalSince1970) }

        var families: [Family] = []
        func gauge(_ name: String, _ help: String, _ value: (ContainerStatus) -> Double?) {
            let samples = sources.compactMap { source -> Sample? in
                guard let status = source.status, let v = value(status) else { return nil }
                return Sample(labels: [Label("container", source.path)], value: v)
            }
            families.append(Family(name: "pgarchive_" + name, help: help, samples: samples))
        }

        families.append(Family(
            name: "pgarchive_up",
            help: "1 if pgarchive could open the container and read its status, 0 if not (e.g. a malformed pgarchive.conf).",
            samples: sources.map { Sample(labels: [Label("container", $0.path)], value: bool($0.status != nil)) }))
        gauge("health", "Overall health as in `pgarchive container status`: 0 ok, 1 degraded (something needs attention), 2 down (the container does not work).") {
            Double($0.health.exitCode)
        }
        gauge("retired", "1 if the container is retired (no streaming, no standby; snapshots and WAL kept for restores).") { bool($0.retired) }
        gauge("receiver_running", "1 if pg_receivewal runs for the container.") { bool($0.receiver.state == "running") }
        gauge("standby_running", "1 if the warm standby runs.") { bool($0.standby.state == "running") }
        gauge("upstream_reachable", "1 if the upstream answered a connection.") { bool($0.upstreamReachable) }
        gauge("upstream_changed", "1 if the upstream is no longer the cluster the container recorded (a major upgrade, or another database system): pg_receivewal stays stopped until `pgarchive container resync --pg-bindir`; 0 otherwise.") {
            bool($0.upstreamChange != nil && !$0.retired)
        }
        gauge("slot_active", "1 if the replication slot exists and is streaming, 0 if it is inactive or missing; absent while the upstream is unreachable.") {
            $0.upstreamReachable ? bool($0.slotActive == true) : nil
        }
        gauge("slot_retained_bytes", "Bytes of WAL the replication slot makes the upstream keep (its position minus the slot's restart_lsn); absent while unknown.") {
            $0.slotRetainedBytes.map { Double($0) }
        }
        gauge("slot_safe_wal_size_bytes", "The slot's safe_wal_size on the upstream: bytes it may still write before the slot is in danger of being invalidated; absent when max_slot_wal_keep_size is unlimited.") {
            $0.slotSafeWALSizeBytes.map { Double($0) }
        }
        gauge("slot_lost", "1 if the upstream invalidated the slot (wal_status lost: the archive has a gap; `pgarchive container resync`), 0 otherwise; absent while unknown.") {
            $0.upstreamReachable && $0.slotActive != nil ? bool($0.slotWALStatus == "lost") : nil
        }
        gauge("replay_lag_bytes", "Bytes of WAL the upstream has written that the standby has not replayed yet.") { $0.replayLagBytes.map { Double($0) } }
        gauge("replay_lag_seconds", "Seconds the standby's replay is behind (0 when it has replayed everything).") { $0.replayLagSeconds }
        gauge("wal_archive_bytes", "Bytes of all files in wal_archive/ (compressed sizes for compressed segments).") { Double($0.walArchiveBytes) }
        gauge("wal_missing_segments", "WAL segments missing from wal_archive/ between the oldest snapshot and the newest WAL (must be 0).") {
            Double($0.missingSegments.count)
        }
        gauge("snapshots", "Number of complete snapshots.") { Double($0.snapshotCount) }
        gauge("newest_snapshot_age_seconds", "Age of the newest snapshot's restartpoint in seconds.") { $0.newestSnapshotAgeSeconds }
        gauge("oldest_restorable_timestamp_seconds", "Earliest time a clone can be recovered to (unix seconds): the oldest snapshot's restorable-from time.") {
            seconds($0.oldestRestorableTime)
        }
        gauge("newest_restorable_timestamp_seconds", "About the newest time a clone can be recovered to (unix seconds): when the newest WAL arrived.") {
            seconds($0.newestRestorableTime)
        }
        gauge("clones", "Number of clones.") { Double($0.cloneCount) }
        gauge("clones_running", "Number of clones whose server runs.") { Double($0.clonesRunning) }
        gauge("filesystem_free_bytes", "Bytes available to the service user on the container's file system.") { $0.fileSystemFreeBytes.map { Double($0) } }
        gauge("filesystem_size_bytes", "Size in bytes of the container's file system.") { $0.fileSystemSizeBytes.map { Double($0) } }
        gauge("filesystem_space_level", "Free space on the container's file system: 0 ok, 1 below disk_warning, 2 below disk_critical or a daemon's log reports 'No space left on device'.") {
            $0.diskSpaceLevel().map { Double($0.rawValue) }
        }
        gauge("no_space_errors", "Number of daemons (pg_receivewal, the standby) whose log reports a current 'No space left on device'.") {
            $0.retired ? nil : Double($0.noSpaceErrors?.count ?? 0)
        }

        gauge("verify_last_run_timestamp_seconds", "When the last `pgarchive verify` finished (unix seconds); absent before the first.") {
            seconds($0.lastVerify?.finishedAt)
        }
        gauge("verify_last_result", "Result of the last `pgarchive verify`: 0 passed, 1 problems found, 2 could not run.") {
            $0.lastVerify.map { v in v.result == .passed ? 0 : (v.result == .failed ? 1 : 2) }
        }
        gauge("verify_last_restore", "1 if the last `pgarchive verify` restored snapshots (--restore), 0 if it ran the offline checks only.") {
            $0.lastVerify.map { bool($0.restore) }
        }
        gauge("verify_last_duration_seconds", "How long the last `pgarchive verify` took.") { $0.lastVerify?.durationSeconds }

        families += tablespaceFamilies(sources)

        func cron(_ name: String, _ help: String, _ value: (Source, CronRun) -> Double?) {
            var samples: [Sample] = []
            for source in sources {
                for run in source.status?.cronRuns ?? [] {
                    guard let v = value(source, run) else { continue }
                    samples.append(Sample(labels: [Label("container", source.path), Label("job", run.job)], value: v))
                }
            }
            families.append(Family(name: "pgarchive_cron_" + name, help: help, samples: samples))
        }
        cron("last_run_timestamp_seconds", "When the cron job's last run finished (unix seconds).") { _, run in
            run.finishedAt.timeIntervalSince1970
        }
        cron("last_result", "Result of the cron job's last run: 0 ok, 1 failed, 2 busy (another pgarchive held the lock).") { _, run in
            switch run.result {
            case .ok: return 0
            case .failed: return 1
            case .busy: return 2
            }
        }
        cron("last_success_timestamp_seconds", "When the cron job last succeeded (unix seconds); absent while unknown.") { source, run in
            source.cronLastSuccess[run.job]?.timeIntervalSince1970
        }
        return families
    }

    public static func render(_ sources: [Source]) -> String {
        PrometheusExposition.render(families(sources))
    }
}

/// Results of concurrent work, one slot per index.
private final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [ContainerMetrics.Source?]

    init(count: Int) { slots = Array(repeating: nil, count: count) }

    func set(_ index: Int, _ value: ContainerMetrics.Source) {
        lock.lock()
        defer { lock.unlock() }
        slots[index] = value
    }

    var values: [ContainerMetrics.Source] {
        lock.lock()
        defer { lock.unlock() }
        return slots.compactMap { $0 }
    }
}
