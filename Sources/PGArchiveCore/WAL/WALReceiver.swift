import Foundation
import Logging
import Postgres

/// pg_receivewal streaming the upstream's WAL into `wal_archive/` through the container's
/// replication slot. It runs detached in its own session with a pid file in `run/` and a
/// log in `logs/`; it reconnects by itself when the upstream goes away, and on restart it
/// resumes from the newest segment in the archive, so nothing is lost while the slot holds.
public struct WALReceiver: Sendable {
    public let layout: ContainerLayout
    public let config: ContainerConfig

    public init(container: Container) {
        layout = container.layout
        config = container.config
    }

    init(layout: ContainerLayout, config: ContainerConfig) {
        self.layout = layout
        self.config = config
    }

    public func state() -> DaemonState {
        Processes.state(pidFile: layout.receiverPidFile) { argv in
            (argv.first.map { ($0 as NSString).lastPathComponent } == "pg_receivewal")
                && argv.contains { $0 == layout.walArchive || $0 == "--directory=" + layout.walArchive }
        }
    }

    /// The argv: conninfo without password (passwords come from .pgpass / PGPASSFILE), with
    /// `application_name` set (see `ContainerConfig.receiverApplicationName`), and
    /// `--synchronous` when the container's `synchronous` is on.
    public func command(binaries: PostgresBinaries) throws -> ToolCommand {
        try PgReceiveWAL(binaries: binaries, directory: layout.walArchive,
                         conninfo: config.receiverConninfo(), slot: config.slot,
                         synchronous: config.synchronous, statusInterval: 10, verbose: true).command
    }

    /// Starts pg_receivewal unless it runs already. Checks it is still alive a moment later
    /// and reports the end of its log if not.
    @discardableResult
    public func start(binaries: PostgresBinaries, logger: Logger) async throws -> pid_t {
        if case .running(let pid) = state() {
            logger.info("pg_receivewal is already running (pid \(pid))")
            return pid
        }
        setTornPartialsAside(logger: logger)
        let command = try command(binaries: binaries)
        let logStart = LogFile.size(layout.receiverLog)
        let pid = try command.spawnDetached(logFile: layout.receiverLog)
        try AtomicFile.write("\(pid)\n", to: layout.receiverPidFile)
        logger.info("started pg_receivewal (pid \(pid)) streaming from slot \(config.slot) into \(layout.walArchive)")
        // pg_receivewal fails fast on a bad slot or authentication; catch that here.
        try await Task.sleep(for: .milliseconds(700))
        var status: Int32 = 0
        if waitpid(pid, &status, WNOHANG) == pid || !Processes.isAlive(pid) {
            try? FileManager.default.removeItem(atPath: layout.receiverPidFile)
            throw PGArchiveError("pg_receivewal exited right after starting; its log \(layout.receiverLog) says:\n" + LogFile.tail(layout.receiverLog, from: logStart, lines: 10))
        }
        return pid
    }

    /// pg_receivewal preallocates each new segment as `NAME.partial` by writing zeros up to the
    /// segment size, and writes WAL into it only after that. Killed during the zero-fill, or
    /// out of space, it leaves a shorter file, and every later pg_receivewal refuses to
    /// resume from it ("has N bytes, should be 0 or 16777216") and retries forever: the
    /// archive would silently stop. Such a file holds no WAL, and the slot still holds that
    /// segment upstream, so it is removed before pg_receivewal starts; a short one that is
    /// not all zeros is renamed to `NAME.partial.torn-TIME` and kept for a human.
    /// Called only while pg_receivewal is not running.
    public func setTornPartialsAside(logger: Logger) {
        for (path, size) in shortPartialSegments() {
            let name = (path as NSString).lastPathComponent
            if Self.isAllZeros(path) {
                if unlink(path) == 0 || errno == ENOENT {
                    logger.warning("removed \(path): \(size) bytes of zeros, a segment pg_receivewal began to zero-fill and could not finish (killed, or out of space); it holds no WAL, pg_receivewal would refuse it forever (\"should be 0 or … bytes\"), and the slot streams the segment again")
                } else {
                    logger.error("cannot remove \(path), which pg_receivewal will refuse to resume from: \(String(cString: strerror(errno)))")
                }
            } else {
                let aside = path + ".torn-" + ISO8601.utc(Date()).replacingOccurrences(of: ":", with: "")
                if rename(path, aside) == 0 {
                    logger.warning("moved \(name) (\(size) bytes, not a whole segment) to \(aside): pg_receivewal refuses to resume from it; the slot streams the segment again")
                } else {
                    logger.error("cannot move \(path) aside: \(String(cString: strerror(errno)))")
                }
            }
        }
    }

    /// Short all-zero `.partial` segments (see `setTornPartialsAside`), as paths. While
    /// pg_receivewal runs, a segment it is zero-filling right now is short for a moment: pass
    /// `minimumAge` to count only files unchanged for that long.
    public func tornPartialSegments(minimumAge: TimeInterval = 0) -> [String] {
        shortPartialSegments().map(\.path).filter { path in
            var st = stat()
            guard stat(path, &st) == 0 else { return false }
            let modified = Date(timeIntervalSince1970: TimeInterval(st.st_mtim.tv_sec))
            return Date().timeIntervalSince(modified) >= minimumAge && Self.isAllZeros(path)
        }
    }

    /// Uncompressed `.partial` segments that are neither empty nor a whole segment.
    func shortPartialSegments() -> [(path: String, size: UInt64)] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: layout.walArchive)) ?? []).sorted()
        let partials = names.filter { WALFileName.parse($0).map { $0.isPartial && $0.compression == nil } ?? false }
        guard !partials.isEmpty else { return [] }
        let segmentSize = self.segmentSize(names: names)
        return partials.compactMap { name in
            let path = layout.walArchive + "/" + name
            let size = LogFile.size(path)
            return size != 0 && size != segmentSize ? (path, size) : nil
        }
    }

    /// The archive's WAL segment size: that of a complete plain segment, else the newest
    /// snapshot's, else PostgreSQL's default of 16 MiB.
    func segmentSize(names: [String]) -> UInt64 {
        for name in names.sorted().reversed() {
            guard let parsed = WALFileName.parse(name), !parsed.isPartial, !parsed.isHistory, parsed.compression == nil else { continue }
            var st = stat()
            if stat(layout.walArchive + "/" + name, &st) == 0, st.st_size > 0 { return UInt64(st.st_size) }
        }
        if let newest = try? SnapshotStore(layout: layout).list().last { return UInt64(newest.walSegmentSize) }
        return defaultWALSegmentSize
    }

    static func isAllZeros(_ path: String) -> Bool {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 { return false }
            if n == 0 { return true }
            if buffer[0..<n].contains(where: { $0 != 0 }) { return false }
        }
    }

    /// Stops pg_receivewal (SIGTERM: it flushes and exits; SIGKILL after 15 s).
    public func stop(logger: Logger) {
        switch state() {
        case .running(let pid):
            if Processes.terminate(pid) {
                logger.info("stopped pg_receivewal (pid \(pid))")
            } else {
                logger.error("pg_receivewal (pid \(pid)) did not exit after SIGTERM and SIGKILL")
            }
            try? FileManager.default.removeItem(atPath: layout.receiverPidFile)
        case .stalePIDFile(let pid):
            logger.info("pg_receivewal was not running (removing stale pid file of pid \(pid))")
            try? FileManager.default.removeItem(atPath: layout.receiverPidFile)
        case .stopped:
            logger.info("pg_receivewal is not running")
        }
    }
}
