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

    public func state() -> DaemonState {
        Processes.state(pidFile: layout.receiverPidFile) { argv in
            (argv.first.map { ($0 as NSString).lastPathComponent } == "pg_receivewal")
                && argv.contains { $0 == layout.walArchive || $0 == "--directory=" + layout.walArchive }
        }
    }

    /// The argv: conninfo without password (passwords come from .pgpass / PGPASSFILE).
    public func command(binaries: PostgresBinaries) throws -> ToolCommand {
        try PgReceiveWAL(binaries: binaries, directory: layout.walArchive,
                         conninfo: config.effectiveUpstreamReplication, slot: config.slot,
                         statusInterval: 10, verbose: true).command
    }

    /// Starts pg_receivewal unless it runs already. Checks it is still alive a moment later
    /// and reports the end of its log if not.
    @discardableResult
    public func start(binaries: PostgresBinaries, logger: Logger) async throws -> pid_t {
        if case .running(let pid) = state() {
            logger.info("pg_receivewal is already running (pid \(pid))")
            return pid
        }
        for path in tornPartialSegments() {
            try Self.removeTornPartial(path)
            logger.warning("removed \(path): pg_receivewal ran out of space while zero-filling it, so it holds no WAL, and pg_receivewal would refuse it forever (\"should be 0 or ... bytes\"); the slot still holds the WAL")
        }
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

    /// `.partial` segments that pg_receivewal began to zero-fill and could not finish (the
    /// file system filled up): shorter than any segment size and nothing but zeros. It
    /// writes WAL into a segment only once the segment is padded to its full size, so such
    /// a file holds no WAL; yet pg_receivewal refuses to reuse it ("has N bytes, should be
    /// 0 or 16777216") and retries forever. Removing it is safe while pg_receivewal is
    /// stopped: it streams that segment again from the slot.
    public func tornPartialSegments() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: layout.walArchive)) ?? []
        return names.filter { $0.hasSuffix(".partial") && WALFileName.parse($0)?.isPartial == true && WALFileName.parse($0)?.compression == nil }.sorted()
            .map { layout.walArchive + "/" + $0 }
            .filter { path in
                let size = LogFile.size(path)
                // Segment sizes are powers of two from 1 MiB to 1 GiB; an empty file is fine too.
                return size > 0 && size & (size - 1) != 0 && Self.isAllZeros(path)
            }
    }

    static func isAllZeros(_ path: String) -> Bool {
        let fd = open(path, O_RDONLY)
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

    static func removeTornPartial(_ path: String) throws {
        guard unlink(path) == 0 || errno == ENOENT else {
            throw PGArchiveError("cannot remove \(path), a segment pg_receivewal could not finish zero-filling: \(String(cString: strerror(errno)))")
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

/// Reading the ends of log files for error messages and `log` commands.
public enum LogFile {
    public static func size(_ path: String) -> UInt64 {
        var st = stat()
        return stat(path, &st) == 0 ? UInt64(st.st_size) : 0
    }

    /// The last `lines` lines written after byte `offset`.
    public static func tail(_ path: String, from offset: UInt64 = 0, lines: Int) -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else { return "(no log at \(path))" }
        defer { try? handle.close() }
        let size = self.size(path)
        let start = max(offset, size > 256 * 1024 ? size - 256 * 1024 : 0)
        try? handle.seek(toOffset: start)
        let data = (try? handle.readToEnd()) ?? Data()
        let text = String(decoding: data, as: UTF8.self)
        return text.split(separator: "\n").suffix(lines).map { "  " + $0 }.joined(separator: "\n")
    }
}
