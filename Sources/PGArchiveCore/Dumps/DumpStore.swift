import Foundation
import Logging
import Postgres

/// The dumps of a container. Layout: `dumps/<escaped db>/<run>/`; a run is written into
/// `dumps/<escaped db>/.incomplete-<run>-<pid>` and renamed when complete, so an
/// interrupted dump never looks complete; the next `dump create` removes such leftovers
/// once their pid is gone. Expired runs are renamed to `.expired-<run>-<pid>` before their
/// files are removed, for the same reason.
public struct DumpStore: Sendable {
    public let layout: ContainerLayout

    public init(layout: ContainerLayout) { self.layout = layout }

    public static let metadataFile = "pgarchive.dump.json"
    public static let globalsFile = "globals.sql"
    /// Inside a temporary clone's data directory: the pid of the `dump create` that made it.
    static let cloneMarkerFile = "pgarchive.dump-clone"
    public static let temporaryClonePrefix = "dump-"

    // MARK: names

    /// The directory name for a database. PostgreSQL allows any character but NUL in a
    /// database name, so names are escaped rather than refused: every byte outside
    /// `A-Z a-z 0-9 - _ . + :` (and a leading `.`) becomes `%XX`. The result is one path
    /// component that never starts with `.`, and `unescape` gives the name back.
    public static func escape(_ database: String) -> String {
        var out = ""
        for (index, byte) in database.utf8.enumerated() {
            let c = Character(Unicode.Scalar(byte))
            let safe = byte < 0x80 && (c.isLetter || c.isNumber || "-_.+:".contains(c)) && !(index == 0 && c == ".")
            out += safe ? String(c) : String(format: "%%%02X", byte)
        }
        return out
    }

    /// The database name of a directory name, or nil for names `escape` never produces.
    public static func unescape(_ directory: String) -> String? {
        guard !directory.isEmpty, !directory.hasPrefix(".") else { return nil }
        var bytes: [UInt8] = []
        var iterator = Array(directory.utf8).makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%") {
                guard let high = iterator.next(), let low = iterator.next(),
                      let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16) else { return nil }
                bytes.append(value)
            } else {
                bytes.append(byte)
            }
        }
        guard let name = String(validating: bytes, as: UTF8.self), escape(name) == directory else { return nil }
        return name
    }

    public static func runName(_ date: Date) -> String { ISO8601.utc(date) }

    /// The time of a run name, nil unless `name` is exactly what `runName` writes.
    public static func parseRunName(_ name: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        formatter.timeZone = TimeZone(identifier: "UTC")
        guard let date = formatter.date(from: name), runName(date) == name else { return nil }
        return date
    }

    public func databaseDirectory(_ database: String) -> String { layout.dumps + "/" + Self.escape(database) }
    public func runDirectory(_ database: String, _ run: String) -> String { databaseDirectory(database) + "/" + run }

    // MARK: listing

    /// Databases that have a directory under dumps/, sorted.
    public func databases() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: layout.dumps)) ?? []
        return names.compactMap(Self.unescape).sorted()
    }

    /// Complete runs of a database, oldest first.
    public func runs(_ database: String) -> [DumpRun] {
        let directory = databaseDirectory(database)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { Self.parseRunName($0) != nil }.compactMap { name in
            guard let data = FileManager.default.contents(atPath: directory + "/" + name + "/" + Self.metadataFile),
                  let run = try? JSONCoding.decoder.decode(DumpRun.self, from: data) else { return nil }
            return run
        }.sorted { $0.name < $1.name }
    }

    /// Runs of a database, or a clear error when there are none.
    public func requireRuns(_ database: String) throws(PGArchiveError) -> [DumpRun] {
        let all = runs(database)
        if all.isEmpty {
            let known = databases().filter { !runs($0).isEmpty }
            throw PGArchiveError("there are no dumps of database '\(database)'; " + (known.isEmpty
                ? "there are no dumps yet (`pgarchive dump create` makes them)"
                : "dumped databases: \(known.map { "'\($0)'" }.joined(separator: ", "))"))
        }
        return all
    }

    /// Leftovers: `.incomplete-*` and `.expired-*` directories, as paths.
    public func leftovers() -> [String] {
        var result: [String] = []
        for database in (try? FileManager.default.contentsOfDirectory(atPath: layout.dumps)) ?? [] where Self.unescape(database) != nil {
            let directory = layout.dumps + "/" + database
            for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
            where name.hasPrefix(".incomplete-") || name.hasPrefix(".expired-") {
                result.append(directory + "/" + name)
            }
        }
        return result.sorted()
    }

    /// The pid in a leftover's name (`.incomplete-<run>-<pid>`).
    static func leftoverPID(_ path: String) -> pid_t? {
        let name = (path as NSString).lastPathComponent
        return name.split(separator: "-").last.flatMap { pid_t($0) }
    }

    /// Whether `pid` is a live pgarchive (a reused pid of another program does not count).
    static func isLivePGArchive(_ pid: pid_t) -> Bool {
        guard Processes.isAlive(pid), let argv = Processes.commandLine(of: pid) else { return false }
        return argv.first?.hasSuffix("pgarchive") == true
    }

    // MARK: selection and expiry (pure)

    /// The newest run at or before `time` (the newest of all without a time).
    public static func select(_ runs: [DumpRun], at time: Date?, database: String) throws(PGArchiveError) -> DumpRun {
        let sorted = runs.sorted { $0.name < $1.name }
        guard let newest = sorted.last, let oldest = sorted.first else {
            throw PGArchiveError("there are no dumps of database '\(database)'")
        }
        guard let time else { return newest }
        if let run = sorted.last(where: { $0.time <= time }) { return run }
        throw PGArchiveError("there is no dump of database '\(database)' at or before \(ISO8601.utc(time)); the oldest is \(oldest.name)")
    }

    /// The runs to delete: all but the newest `keep`, and those started before `olderThan`;
    /// the newest run of a database is always kept.
    public static func expirePlan(_ runs: [DumpRun], keep: Int, olderThan: Date? = nil) -> [DumpRun] {
        let sorted = runs.sorted { $0.name < $1.name }
        let candidates = sorted.dropLast()
        let beyondCount = Set(sorted.dropLast(max(keep, 1)).map(\.name))
        return candidates.filter { run in
            beyondCount.contains(run.name) || (olderThan.map { run.startedAt < $0 } ?? false)
        }
    }
}
