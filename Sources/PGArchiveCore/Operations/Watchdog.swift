import Foundation
import Logging
import Postgres

/// What the watchdog remembers between runs (`run/watchdog.json`): the last progress
/// marks of the receiver and the standby and since when they have not moved.
struct WatchdogState: Codable {
    var receiverMark: String?
    var receiverSince: Date?
    var standbyMark: String?
    var standbySince: Date?
}

extension Container {
    /// `cron watchdog`: restarts a dead pg_receivewal or standby, and reports one that is
    /// stuck: no progress for `watchdog_stuck_after` while there is work for it (the upstream
    /// has newer WAL; complete segments wait to be replayed).
    public func watchdog(now: Date = Date()) async throws -> String {
        guard !isRetired else { return "container is retired; nothing to watch" }
        // An upgraded (or another) upstream: stop pg_receivewal and never restart it
        // (UpstreamIdentity.swift); only `container resync` moves on.
        let upstream = try? upstreamConnection(connectTimeout: 5)
        let change = stopReceiverIfUpstreamChanged(connection: upstream)
        upstream?.close()
        if let change { throw PGArchiveError(change.message) }
        var actions: [String] = []
        var problems: [String] = []
        let binaries = try await binaries()
        // A segment left short when the file system filled up: pg_receivewal retries it in
        // vain; restart it without the file (start removes it).
        if receiver.state().isRunning, case let torn = receiver.tornPartialSegments(minimumAge: 30), !torn.isEmpty {
            logger.warning("pg_receivewal cannot continue past \(torn.map { ($0 as NSString).lastPathComponent }.joined(separator: ", ")), left short when the file system filled up; restarting it without")
            receiver.stop(logger: logger)
            actions.append("removed the short \(torn.map { ($0 as NSString).lastPathComponent }.joined(separator: ", ")) left by a full file system")
        }
        if case let state = receiver.state(), !state.isRunning {
            // A pg_receivewal started while the upstream is down exits at once: say so instead,
            // and let the next run (the upstream back) start it.
            do {
                let upstream = try upstreamConnection(connectTimeout: 5)
                let lostSlot = SlotRetention.isLost(upstream, slot: config.slot)
                upstream.close()
                if lostSlot {
                    // pg_receivewal cannot stream from an invalidated slot: say what it means.
                    problems.append(SlotRetention.lostAdvice(after: nil))
                } else {
                    logger.warning("pg_receivewal is \(state); restarting it")
                    try await receiver.start(binaries: binaries, logger: logger)
                    actions.append("restarted pg_receivewal")
                }
            } catch let error as PostgresError {
                problems.append("the upstream is unreachable (\(error)): pg_receivewal is \(state) and was not restarted; the next watchdog run retries")
            }
        }
        if let raised = try await followUpstreamHotStandbySettings(binaries: binaries) { actions.append(raised) }
        if case let state = standby.state(), !state.isRunning {
            logger.warning("the standby is \(state); restarting it")
            try await standby.start(binaries: binaries, logger: logger)
            actions.append("restarted the standby")
        }

        let stateFile = layout.run + "/watchdog.json"
        var memory = (FileManager.default.contents(atPath: stateFile)).flatMap { try? SnapshotStore.decoder.decode(WatchdogState.self, from: $0) } ?? WatchdogState()
        let status = ContainerStatus.gather(self)
        let limit = Double(config.watchdogStuckAfter.seconds)
        if problems.isEmpty, !status.upstreamReachable {
            // pg_receivewal retries by itself every few seconds; nothing to restart, but report.
            problems.append("the upstream is unreachable (\(status.upstreamError ?? "unknown error")): no new WAL is archived; pg_receivewal\(status.receiver.pid.map { " (pid \($0))" } ?? "") reconnects by itself when it is back")
        }
        if status.slotWALStatus == "lost", !problems.contains(where: { $0.contains("invalidated the replication slot") }) {
            problems.append(SlotRetention.lostAdvice(status))
        }
        var stuck: [String] = []

        // Receiver: its mark is the newest file and its modification time.
        // No progress only counts while it could progress: not while the upstream is away, nor
        // from before a restart (else the first run after a long outage calls it stuck).
        let receiverMark = "\(status.newestSegment ?? "-")@\(status.newestSegmentTime.map { ISO8601.utcMicroseconds($0) } ?? "-")"
        if receiverMark != memory.receiverMark || !status.upstreamReachable || actions.contains("restarted pg_receivewal") {
            memory.receiverMark = receiverMark
            memory.receiverSince = now
        }
        // Written, not flushed: without --synchronous pg_receivewal flushes only at segment
        // ends, and an idle upstream mid-segment is not a stuck receiver.
        if let upstream = status.upstreamLSN.flatMap(LSN.init),
           let received = (status.receiverWriteLSN ?? status.receivedLSN ?? status.slotRestartLSN).flatMap(LSN.init),
           upstream > received, let since = memory.receiverSince, now.timeIntervalSince(since) > limit {
            stuck.append("pg_receivewal has written nothing for \(TimeSpan(seconds: Int64(now.timeIntervalSince(since))).approximate) while the upstream is \(upstream.value - received.value) bytes ahead; see \(layout.receiverLog)")
        }
        // Standby: its mark is the replay position; work exists when a complete segment lies beyond it.
        let standbyMark = status.replayedLSN ?? "-"
        if standbyMark != memory.standbyMark { memory.standbyMark = standbyMark; memory.standbySince = now }
        if let replayed = status.replayedLSN.flatMap(LSN.init),
           let newest = try? WALArchive(directory: layout.walArchive).entries().last(where: { !$0.name.isPartial && !$0.name.isHistory }),
           let newestStart = newest.name.startLSN(segmentSize: walSegmentSize), newestStart > replayed,
           let since = memory.standbySince, now.timeIntervalSince(since) > limit {
            stuck.append("the standby has replayed nothing for \(TimeSpan(seconds: Int64(now.timeIntervalSince(since))).approximate) although \(newest.name.fileName) is complete; see \(layout.standbyLog)")
        }
        if let data = try? SnapshotStore.encoder.encode(memory) { try? AtomicFile.write(data, to: stateFile) }
        if !stuck.isEmpty { problems.append("stuck: " + stuck.joined(separator: "; ")) }
        if !problems.isEmpty {
            throw PGArchiveError((actions.isEmpty ? "" : actions.joined(separator: ", ") + "; but ") + problems.joined(separator: "; "))
        }
        return actions.isEmpty ? "all running" : actions.joined(separator: ", ")
    }
}
