import Foundation
import PGArchiveCore
import PGArchiveTestSupport
import Postgres
import XCTest

/// `wal compress` and `wal fetch` of compressed segments against a real upstream, real
/// pg_receivewal and a real standby on btrfs, through the built binary: byte-identical
/// fetches, a clone restoring through compressed segments, corruption stopping recovery
/// (exit 126), and kill -9 in the middle of compression.
final class WALCompressionIntegrationTests: XCTestCase {
    var upstreams: [UpstreamCluster] = []
    var containers: [ContainerFixture] = []
    var scratch: [String] = []
    var children: [Process] = []

    override func tearDown() async throws {
        for child in children where child.isRunning {
            kill(child.processIdentifier, SIGKILL)
            child.waitUntilExit()
        }
        for container in containers.reversed() { await container.destroy() }
        for upstream in upstreams.reversed() { await upstream.destroy() }
        for directory in scratch { try? FileManager.default.removeItem(atPath: directory) }
        children = []
        containers = []
        upstreams = []
        scratch = []
    }

    // MARK: - Helpers

    func makeUpstream() async throws -> UpstreamCluster {
        let upstream = try await UpstreamCluster(name: "upstream")
        upstreams.append(upstream)
        try upstream.sql("CREATE TABLE markers (id serial PRIMARY KEY, note text NOT NULL, at timestamptz DEFAULT now())")
        return upstream
    }

    func makeContainer(upstream: UpstreamCluster) async throws -> ContainerFixture {
        let container = try ContainerFixture(name: "c")
        containers.append(container)
        try await container.initContainer(upstream: upstream)
        return container
    }

    func makeScratch() throws -> String {
        let directory = try TemporaryDirectory.make(prefix: "pgarchive-walcopies")
        scratch.append(directory)
        return directory
    }

    /// Inserts a marker and closes its segment; returns once the standby replayed it (so the
    /// segment is complete in the archive).
    func mark(_ upstream: UpstreamCluster, _ container: ContainerFixture, _ note: String,
              file: StaticString = #filePath, line: UInt = #line) async throws {
        try upstream.sql("INSERT INTO markers (note) VALUES ('\(note)')")
        _ = try upstream.scalar("SELECT pg_switch_wal()")
        let seen = await eventually(timeout: 90) {
            container.standbyScalar("SELECT count(*) FROM markers WHERE note = '\(note)'") == "1"
        }
        XCTAssertTrue(seen, "the standby did not replay marker '\(note)'", file: file, line: line)
        if !seen { throw PGArchiveTestError("marker \(note) not replayed") }
    }

    /// Several segments of real WAL: pgbench data and load, then segments closed early by
    /// pg_switch_wal (mostly zeros, like a quiet server's).
    func writeSegments(_ upstream: UpstreamCluster, _ container: ContainerFixture, scale: Int = 2, seconds: Int = 4) async throws {
        try await upstream.pgbenchInit(scale: scale)
        try await upstream.pgbench(seconds: seconds)
        for i in 0..<3 { try await mark(upstream, container, "switch-\(i)") }
    }

    /// Inserts a marker without closing its segment and waits until pg_receivewal has written
    /// it into the `.partial` segment.
    func markInPartial(_ upstream: UpstreamCluster, _ note: String, file: StaticString = #filePath, line: UInt = #line) async throws {
        try upstream.sql("INSERT INTO markers (note) VALUES ('\(note)')")
        let lsn = try XCTUnwrap(try upstream.scalar("SELECT pg_current_wal_insert_lsn()"))
        let received = await eventually(timeout: 60) {
            (try? upstream.scalar("SELECT count(*) FROM pg_stat_replication WHERE write_lsn >= $1::pg_lsn", [lsn])) == "1"
        }
        XCTAssertTrue(received, "pg_receivewal did not receive \(lsn)", file: file, line: line)
    }

    var archive: (ContainerFixture) -> WALArchive { { WALArchive(directory: $0.layout.walArchive) } }

    /// Complete, uncompressed segments in the archive (what `wal compress` will work on).
    func plainSegments(_ container: ContainerFixture) throws -> [WALArchive.Entry] {
        try archive(container).entries().filter { !$0.name.isPartial && !$0.name.isHistory && $0.name.compression == nil }
    }

    /// Copies every complete segment aside, keyed by name.
    func copyAside(_ container: ContainerFixture) throws -> (directory: String, names: [String]) {
        let directory = try makeScratch()
        var names: [String] = []
        for entry in try plainSegments(container) {
            try FileManager.default.copyItem(atPath: entry.path, toPath: directory + "/" + entry.name.fileName)
            names.append(entry.name.fileName)
        }
        return (directory, names)
    }

    func bytes(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }

    func totalSize(_ container: ContainerFixture) throws -> Int64 {
        try archive(container).entries().reduce(0) { $0 + $1.size }
    }

    /// `wal fetch NAME DEST` for each name, compared with the copy taken before compression.
    func assertFetchesIdentical(_ container: ContainerFixture, _ copies: (directory: String, names: [String]),
                                file: StaticString = #filePath, line: UInt = #line) async throws {
        let out = try makeScratch()
        for name in copies.names {
            let destination = out + "/RECOVERYXLOG"
            let result = try await container.run(["wal", "fetch", name, destination])
            XCTAssertEqual(result.exitCode, 0, "wal fetch \(name): \(result)", file: file, line: line)
            XCTAssertTrue(try bytes(destination) == bytes(copies.directory + "/" + name), "\(name) fetched differs from its original", file: file, line: line)
            try? FileManager.default.removeItem(atPath: destination)
        }
    }

    // MARK: - Tests

    func testCompressedSegmentsAreFetchedByteIdenticalAndTheArchiveShrinks() async throws {
        let upstream = try await makeUpstream()
        let container = try await makeContainer(upstream: upstream)
        try await writeSegments(upstream, container)
        try await markInPartial(upstream, "in-partial")
        // Freeze the archive: pg_receivewal would keep writing its .partial.
        try await container.ok(["wal", "stop"])
        let copies = try copyAside(container)
        XCTAssertGreaterThanOrEqual(copies.names.count, 4, "the test needs several segments")
        let partial = try XCTUnwrap(try archive(container).entries().first { $0.name.isPartial })
        let partialBytes = try bytes(partial.path)
        let before = try totalSize(container)

        let result = try await container.ok(["wal", "compress"])
        XCTAssertTrue(result.stdout.hasPrefix("compressed \(copies.names.count) segments: "), result.stdout)
        let after = try totalSize(container)
        print("wal compress: \(result.stdout.trimmingCharacters(in: .newlines)); archive \(before) → \(after) bytes, ratio \(String(format: "%.2f", Double(before) / Double(after)))")
        XCTAssertLessThan(after, before / 2, "the archive must shrink")

        let files = Set(try FileManager.default.contentsOfDirectory(atPath: container.layout.walArchive))
        for name in copies.names {
            XCTAssertFalse(files.contains(name), "\(name) is still uncompressed")
            XCTAssertTrue(files.contains(name + ".zst"), "\(name).zst is missing")
        }
        XCTAssertFalse(files.contains { $0.contains(".tmp.") }, "\(files)")
        XCTAssertTrue(try bytes(partial.path) == partialBytes, "the .partial segment was changed")
        XCTAssertTrue(files.contains(partial.name.fileName))
        try await assertFetchesIdentical(container, copies)

        // Nothing left to do; the archive still has no gap; pg_receivewal resumes beside
        // compressed segments and the standby goes on replaying.
        let again = try await container.ok(["wal", "compress"])
        XCTAssertTrue(again.stdout.hasPrefix("compressed 0 segments"), again.stdout)
        XCTAssertEqual(try archive(container).missingSegments().map(\.fileName), [])
        try await container.ok(["wal", "start"])
        try await mark(upstream, container, "after-compression")
        XCTAssertEqual(try archive(container).missingSegments().map(\.fileName), [])
        let list = try await container.ok(["wal", "list"])
        XCTAssertTrue(list.stdout.contains(copies.names[0] + ".zst"), list.stdout)
    }

    func testCloneRestoresThroughCompressedSegments() async throws {
        let upstream = try await makeUpstream()
        try await upstream.pgbenchInit(scale: 1)
        let container = try await makeContainer(upstream: upstream)
        try await mark(upstream, container, "before-snapshot")
        try await container.ok(["snapshot", "create"])
        try await upstream.pgbench(seconds: 4)
        for i in 0..<3 { try await mark(upstream, container, "after-snapshot-\(i)") }

        let compressed = try await container.ok(["wal", "compress"])
        print("wal compress: \(compressed.stdout.trimmingCharacters(in: .newlines))")
        XCTAssertEqual(try plainSegments(container).map(\.name.fileName), [], "every complete segment is compressed")
        // The newest snapshot's first segment is only there compressed: the clone must decompress.
        let listed = try await container.ok(["snapshot", "list", "--json"])
        let snapshot = try XCTUnwrap(try SnapshotStore.decoder.decode([SnapshotMetadata].self, from: Data(listed.stdout.utf8)).last)
        let redo = container.layout.walArchive + "/" + snapshot.redoWALFile
        XCTAssertFalse(FileManager.default.fileExists(atPath: redo))
        XCTAssertTrue(FileManager.default.fileExists(atPath: redo + ".zst"), "\(redo).zst")

        // The newest rows are only in the .partial segment.
        try await markInPartial(upstream, "newest")
        let history = try XCTUnwrap(try upstream.scalar("SELECT count(*) FROM pgbench_history"))

        let created = try await container.ok(["clone", "create", "x", "--latest", "--start"])
        let port = try XCTUnwrap(created.stdout.split(separator: " ").first { $0.hasPrefix("port=") }.map { String($0.dropFirst(5)) })
        let clone = try Connection(conninfo: "host=\(container.layout.run) port=\(port) dbname=postgres user=postgres", connectTimeout: 10)
        defer { clone.close() }
        XCTAssertEqual(try clone.query("SELECT pg_is_in_recovery()").rows.first?[0], "f")
        XCTAssertEqual(try clone.query("SELECT string_agg(note, ',' ORDER BY id) FROM markers").rows.first?[0],
                       "before-snapshot,after-snapshot-0,after-snapshot-1,after-snapshot-2,newest")
        XCTAssertEqual(try clone.query("SELECT count(*) FROM pgbench_history").rows.first?[0], history)
        try await container.ok(["clone", "stop", "x"])
    }

    func testCorruptCompressedSegmentMakesFetchExit126NamingTheFile() async throws {
        let upstream = try await makeUpstream()
        let container = try await makeContainer(upstream: upstream)
        for i in 0..<3 { try await mark(upstream, container, "m\(i)") }
        let copies = try copyAside(container)
        try await container.ok(["wal", "compress"])
        let name = try XCTUnwrap(copies.names.last)
        let path = container.layout.walArchive + "/" + name + ".zst"
        var damaged = try bytes(path)
        for i in 0..<3 { damaged[damaged.count / 2 + i * 7] ^= 0xA5 }
        // Rewrite in place, as bit rot would.
        let fd = open(path, O_WRONLY)
        XCTAssertGreaterThanOrEqual(fd, 0)
        _ = damaged.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        close(fd)

        let out = try makeScratch()
        let result = try await container.run(["wal", "fetch", name, out + "/RECOVERYXLOG"])
        XCTAssertEqual(result.exitCode, 126, "\(result)")
        XCTAssertTrue(result.stderr.contains("pgarchive wal fetch: \(path) is corrupt: "), result.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/RECOVERYXLOG"), "no wrong bytes are left for PostgreSQL")
        print("corrupt segment: \(result.stderr.trimmingCharacters(in: .newlines))")
        // The other segments are still served; an unknown one is "not found" (exit 1).
        try await assertFetchesIdentical(container, (copies.directory, Array(copies.names.dropLast())))
        let missing = try await container.run(["wal", "fetch", "0000000100000000000000FF", out + "/x"])
        XCTAssertEqual(missing.exitCode, 1, "\(missing)")
    }

    func testKillNineDuringCompressionLeavesWholeFilesAndARerunFinishes() async throws {
        let upstream = try await makeUpstream()
        let container = try await makeContainer(upstream: upstream)
        try await writeSegments(upstream, container, scale: 5, seconds: 3)
        try await container.ok(["wal", "stop"])
        let copies = try copyAside(container)
        XCTAssertGreaterThanOrEqual(copies.names.count, 6, "the test needs several segments")
        let dir = container.layout.walArchive

        func countCompressed() -> Int {
            (try? FileManager.default.contentsOfDirectory(atPath: dir))?.filter { $0.hasSuffix(".zst") }.count ?? 0
        }
        var interrupted = 0
        let attempts = 6
        for attempt in 0..<attempts {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: container.binary.path)
            process.arguments = ["wal", "compress", "-C", container.path]
            var environment = ProcessInfo.processInfo.environment
            for (key, value) in container.binary.environment { environment[key] = value }
            process.environment = environment
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            children.append(process)
            // Let each run finish at least one segment, then kill it at a point that differs by attempt.
            let compressedBefore = countCompressed()
            _ = await eventually(timeout: 120, interval: 0.001) { !process.isRunning || countCompressed() > compressedBefore }
            switch attempt % 3 {
            case 0:
                break // right after a rename, often before the original is unlinked
            case 1:
                // while the next compressed file is being written
                _ = await eventually(timeout: 30, interval: 0.001) {
                    !process.isRunning || ((try? FileManager.default.contentsOfDirectory(atPath: dir))?.contains { $0.contains(".tmp.") } ?? false)
                }
            default:
                try await Task.sleep(for: .milliseconds(Int.random(in: 0...300)))
            }
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            if process.terminationReason == .uncaughtSignal { interrupted += 1 }

            // Every segment is whole: the original, a complete compressed file, or both.
            let files = Set(try FileManager.default.contentsOfDirectory(atPath: dir))
            for name in copies.names {
                let original = try bytes(copies.directory + "/" + name)
                var found = false
                if files.contains(name) {
                    XCTAssertTrue(try bytes(dir + "/" + name) == original, "attempt \(attempt): \(name) changed")
                    found = true
                }
                if files.contains(name + ".zst") {
                    let decompressed = try WALCompression.decompress([UInt8](bytes(dir + "/" + name + ".zst")), algorithm: .zstd,
                                                                     file: name + ".zst", expectedSize: defaultWALSegmentSize)
                    XCTAssertTrue(Data(decompressed) == original, "attempt \(attempt): \(name).zst differs")
                    found = true
                }
                XCTAssertTrue(found, "attempt \(attempt): \(name) is gone")
            }
            let both = copies.names.filter { files.contains($0) && files.contains($0 + ".zst") }.count
            print("attempt \(attempt): \(process.terminationReason == .uncaughtSignal ? "killed" : "finished first"); \(files.filter { $0.hasSuffix(".zst") }.count) compressed, \(both) both original and compressed, \(files.filter { $0.contains(".tmp.") }.count) temporary")
        }
        print("kill -9 landed during \(interrupted) of \(attempts) runs")

        let rerun = try await container.ok(["wal", "compress"])
        print("rerun: \(rerun.stdout.trimmingCharacters(in: .newlines))")
        let files = Set(try FileManager.default.contentsOfDirectory(atPath: dir))
        XCTAssertFalse(files.contains { $0.contains(".tmp.") }, "stale temporary files remain: \(files.sorted())")
        for name in copies.names {
            XCTAssertFalse(files.contains(name), "\(name) is still uncompressed")
            XCTAssertTrue(files.contains(name + ".zst"), "\(name).zst is missing")
        }
        try await assertFetchesIdentical(container, copies)
        XCTAssertEqual(try archive(container).missingSegments().map(\.fileName), [])
    }
}
