import Foundation
import Logging

/// Log lines go to stderr (and, for cron jobs, also to a log file), each starting with an
/// ISO-8601 UTC timestamp; results go to stdout.
public struct TimestampedLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    private let label: String
    private let sinks: [FileHandleSink]

    public init(label: String, level: Logger.Level, sinks: [FileHandleSink]) {
        self.label = label
        self.logLevel = level
        self.sinks = sinks
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        let meta = merged.isEmpty ? "" : " " + merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        let level = event.level == .info ? "" : "\(event.level): "
        let line = "\(Self.timestamp(Date())) \(label)[\(getpid())]: \(level)\(event.message)\(meta)\n"
        for sink in sinks { sink.write(line) }
    }

    nonisolated(unsafe) private static let formatter: ISO8601DateFormatter = {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        f.timeZone = TimeZone(identifier: "UTC")
        return f
    }()
    private static let formatterLock = NSLock()

    static func timestamp(_ date: Date) -> String {
        formatterLock.lock(); defer { formatterLock.unlock() }
        return formatter.string(from: date)
    }
}

/// A file handle lines are appended to (stderr, or a log file opened for append).
public final class FileHandleSink: @unchecked Sendable {
    private let handle: FileHandle
    private let lock = NSLock()

    public init(_ handle: FileHandle) { self.handle = handle }

    public static let standardError = FileHandleSink(FileHandle.standardError)

    /// Opens (creating, mode 0600) a log file for appending.
    public static func appending(to path: String) throws(PGArchiveError) -> FileHandleSink {
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw PGArchiveError("cannot open log file \(path): \(String(cString: strerror(errno)))") }
        return FileHandleSink(FileHandle(fileDescriptor: fd, closeOnDealloc: true))
    }

    func write(_ text: String) {
        lock.lock(); defer { lock.unlock() }
        try? handle.write(contentsOf: Data(text.utf8))
    }
}

public enum PGArchiveLogging {
    /// Call once at start-up. `logFile` adds a second sink (cron jobs log to logs/cron_<job>.log).
    public static func bootstrap(verbose: Bool, quiet: Bool = false) {
        let level: Logger.Level = verbose ? .debug : (quiet ? .warning : .info)
        LoggingSystem.bootstrap { label in
            TimestampedLogHandler(label: label, level: level, sinks: [.standardError])
        }
    }

    /// A logger that writes to stderr and to `file`.
    public static func logger(alsoTo file: String?, verbose: Bool) -> Logger {
        var sinks: [FileHandleSink] = [.standardError]
        if let file, let sink = try? FileHandleSink.appending(to: file) { sinks.append(sink) }
        return Logger(label: "pgarchive") { label in
            TimestampedLogHandler(label: label, level: verbose ? .debug : .info, sinks: sinks)
        }
    }
}
