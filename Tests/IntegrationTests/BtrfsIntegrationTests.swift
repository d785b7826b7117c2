import Btrfs
import Foundation
import PGArchiveTestSupport
import XCTest

/// The Btrfs module against a real btrfs mount (`PGARCHIVE_TEST_BTRFS`, mounted with
/// `user_subvol_rm_allowed`), run unprivileged as CI does.
final class BtrfsIntegrationTests: XCTestCase {
    /// A unique plain directory under the btrfs root; everything a test makes lives in it.
    private var scratch: String?

    override func setUpWithError() throws {
        let root = try IntegrationEnvironment.btrfsRoot()
        let directory = "\(root)/btrfs-test-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        scratch = directory
    }

    /// Deletes every subvolume under the scratch directory, nested and read-only ones included,
    /// deepest first, then the directory itself — whatever state a failed test left behind.
    override func tearDownWithError() throws {
        guard let scratch else { return }
        self.scratch = nil
        var failures: [String] = []
        do {
            let subvolumes = try Subvolume.list(under: scratch)
            // A read-only subvolume's nested ones cannot be unlinked from it: clear every flag first.
            for entry in subvolumes where try Subvolume.isReadOnly("\(scratch)/\(entry.path)") {
                try Subvolume.setReadOnly("\(scratch)/\(entry.path)", false)
            }
            let deepestFirst = subvolumes.sorted {
                $0.path.split(separator: "/").count > $1.path.split(separator: "/").count
            }
            for entry in deepestFirst {
                do {
                    try Subvolume.delete("\(scratch)/\(entry.path)")
                } catch {
                    failures.append("\(error)")
                }
            }
        } catch {
            failures.append("\(error)")
        }
        do {
            try FileManager.default.removeItem(atPath: scratch)
        } catch {
            failures.append("removing \(scratch): \(error)")
        }
        if !failures.isEmpty {
            XCTFail("cleanup of \(scratch) failed: \(failures.joined(separator: "; "))")
        }
    }

    private func path(_ relative: String) throws -> String {
        guard let scratch else { try IntegrationEnvironment.unavailable("no scratch directory on btrfs") }
        return "\(scratch)/\(relative)"
    }

    // MARK: - Snapshots

    func testSnapshotsAreIsolatedReadOnlyAndClonable() throws {
        let standby = try path("standby")
        let snapshot = try path("snapshots/s1")
        let clone = try path("clones/c1")
        try FileManager.default.createDirectory(atPath: try path("snapshots"), withIntermediateDirectories: false)
        try FileManager.default.createDirectory(atPath: try path("clones"), withIntermediateDirectories: false)

        try Subvolume.create(standby)
        XCTAssertTrue(try Subvolume.isSubvolume(standby))
        XCTAssertFalse(try Subvolume.isSubvolume(try path("snapshots")))
        try write("one", to: "\(standby)/data.txt")

        try Subvolume.snapshot(source: standby, destination: snapshot, readOnly: true)
        try write("two", to: "\(standby)/data.txt")
        XCTAssertEqual(try read("\(standby)/data.txt"), "two")
        XCTAssertEqual(try read("\(snapshot)/data.txt"), "one", "the snapshot must not see later writes")

        // Nothing can be written into the read-only snapshot.
        XCTAssertEqual(openForWriting("\(snapshot)/data.txt"), EROFS)
        XCTAssertEqual(openForWriting("\(snapshot)/new.txt"), EROFS)
        XCTAssertEqual(try read("\(snapshot)/data.txt"), "one")
        XCTAssertThrowsError(try Subvolume.create("\(snapshot)/nested")) { error in
            XCTAssertEqual((error as? BtrfsError)?.kind, .readOnly, "\(error)")
        }

        // A writable snapshot of the read-only one is an independent copy.
        try Subvolume.snapshot(source: snapshot, destination: clone, readOnly: false)
        XCTAssertEqual(try read("\(clone)/data.txt"), "one")
        try write("three", to: "\(clone)/data.txt")
        XCTAssertEqual(try read("\(clone)/data.txt"), "three")
        XCTAssertEqual(try read("\(snapshot)/data.txt"), "one")
        XCTAssertEqual(try read("\(standby)/data.txt"), "two")

        // Subvolume information ties the three together.
        let standbyInfo = try Subvolume.info(standby)
        let snapshotInfo = try Subvolume.info(snapshot)
        let cloneInfo = try Subvolume.info(clone)
        XCTAssertEqual(Set([standbyInfo.id, snapshotInfo.id, cloneInfo.id]).count, 3)
        XCTAssertEqual(Set([standbyInfo.uuid, snapshotInfo.uuid, cloneInfo.uuid]).count, 3)
        XCTAssertNil(standbyInfo.parentUUID, "a plain subvolume is nobody's snapshot")
        XCTAssertEqual(snapshotInfo.parentUUID, standbyInfo.uuid)
        XCTAssertEqual(cloneInfo.parentUUID, snapshotInfo.uuid)
        XCTAssertNil(snapshotInfo.receivedUUID)
        XCTAssertFalse(standbyInfo.isReadOnly)
        XCTAssertTrue(snapshotInfo.isReadOnly)
        XCTAssertFalse(cloneInfo.isReadOnly)
        XCTAssertTrue(try Subvolume.isReadOnly(snapshot))
        XCTAssertFalse(try Subvolume.isReadOnly(clone))
        XCTAssertGreaterThan(standbyInfo.generation, 0)
        XCTAssertLessThan(abs(snapshotInfo.otime.timeIntervalSinceNow), 300)
        XCTAssertLessThanOrEqual(standbyInfo.otime, snapshotInfo.otime)
        XCTAssertEqual(standbyInfo.parentID, snapshotInfo.parentID, "all three sit in the same subvolume")

        // Listing from a plain directory and from inside a subvolume.
        let listed = try Subvolume.list(under: try path(""))
        XCTAssertEqual(listed.map(\.path), ["clones/c1", "snapshots/s1", "standby"])
        XCTAssertEqual(listed.map(\.id), [cloneInfo.id, snapshotInfo.id, standbyInfo.id])
        XCTAssertEqual(try Subvolume.list(under: try path("snapshots")).map(\.path), ["s1"])
        XCTAssertEqual(try Subvolume.list(under: standby), [])

        // Setting and clearing the read-only flag.
        try Subvolume.setReadOnly(clone, true)
        XCTAssertTrue(try Subvolume.info(clone).isReadOnly)
        XCTAssertEqual(openForWriting("\(clone)/data.txt"), EROFS)
        try Subvolume.setReadOnly(clone, false)
        XCTAssertFalse(try Subvolume.isReadOnly(clone))

        // Deleting all of them, the read-only snapshot included.
        try Subvolume.delete(snapshot)
        try Subvolume.delete(clone)
        try Subvolume.delete(standby)
        XCTAssertEqual(try Subvolume.list(under: try path("")), [])
        XCTAssertFalse(FileManager.default.fileExists(atPath: snapshot))
        try Subvolume.sync(try path(""))
    }

    func testExistingDestinationIsExplained() throws {
        let standby = try path("standby")
        try Subvolume.create(standby)
        XCTAssertThrowsError(try Subvolume.create(standby)) { error in
            XCTAssertEqual((error as? BtrfsError)?.kind, .exists, "\(error)")
            XCTAssertTrue("\(error)".hasSuffix("\(standby) already exists; choose another name or delete it first"), "\(error)")
        }
        let taken = try path("taken")
        try FileManager.default.createDirectory(atPath: taken, withIntermediateDirectories: false)
        XCTAssertThrowsError(try Subvolume.snapshot(source: standby, destination: taken, readOnly: true)) { error in
            let error = error as? BtrfsError
            XCTAssertEqual(error?.kind, .exists, "\(String(describing: error))")
            XCTAssertEqual(error?.subject, taken)
        }
    }

    func testPlainDirectoriesAreRefusedWhereASubvolumeIsNeeded() throws {
        let plain = try path("plain")
        try FileManager.default.createDirectory(atPath: plain, withIntermediateDirectories: false)
        XCTAssertThrowsError(try Subvolume.snapshot(source: plain, destination: try path("s"), readOnly: true)) { error in
            XCTAssertEqual((error as? BtrfsError)?.kind, .notSubvolume, "\(error)")
            XCTAssertTrue("\(error)".hasSuffix("\(plain) is a plain directory, not a btrfs subvolume"), "\(error)")
        }
        XCTAssertThrowsError(try Subvolume.delete(plain)) { error in
            XCTAssertEqual((error as? BtrfsError)?.kind, .notSubvolume, "\(error)")
        }
        XCTAssertThrowsError(try Subvolume.info(plain)) { error in
            XCTAssertEqual((error as? BtrfsError)?.kind, .notSubvolume, "\(error)")
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: plain))
    }

    // MARK: - Nested subvolumes

    func testNestedSubvolumeBlocksDeleteAndIsNotInSnapshots() throws {
        let outer = try path("outer")
        let inner = try path("outer/pgdata/inner")
        try Subvolume.create(outer)
        try FileManager.default.createDirectory(atPath: "\(outer)/pgdata", withIntermediateDirectories: false)
        try Subvolume.create(inner)
        try write("x", to: "\(inner)/file")

        XCTAssertEqual(try Subvolume.list(under: try path("")).map(\.path), ["outer", "outer/pgdata/inner"])
        XCTAssertEqual(try Subvolume.list(under: outer).map(\.path), ["pgdata/inner"])

        // A snapshot is not recursive: the nested subvolume is an empty directory in it.
        let copy = try path("copy")
        try Subvolume.snapshot(source: outer, destination: copy, readOnly: false)
        XCTAssertFalse(try Subvolume.isSubvolume("\(copy)/pgdata/inner"))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: "\(copy)/pgdata/inner"), [])

        XCTAssertThrowsError(try Subvolume.delete(outer)) { error in
            XCTAssertEqual((error as? BtrfsError)?.kind, .nestedSubvolume, "\(error)")
            XCTAssertTrue(
                "\(error)".hasSuffix(
                    "\(outer) contains a nested subvolume; delete that one first (snapshots do not include nested subvolumes)"
                ),
                "\(error)"
            )
        }
        XCTAssertTrue(try Subvolume.isSubvolume(outer), "a failed delete leaves the subvolume in place")

        try Subvolume.delete(inner)
        try Subvolume.delete(outer)
        try Subvolume.delete(copy)
        XCTAssertEqual(try Subvolume.list(under: try path("")), [])
    }

    func testListingSkipsUnreadableDirectoriesLikeTheUnprivilegedIterator() throws {
        let locked = try path("locked")
        try FileManager.default.createDirectory(atPath: locked, withIntermediateDirectories: false)
        try Subvolume.create("\(locked)/hidden")
        try Subvolume.create(try path("visible"))
        XCTAssertEqual(chmod(locked, 0), 0)
        defer { chmod(locked, 0o755) }
        let expected = geteuid() == 0 ? ["locked/hidden", "visible"] : ["visible"]
        XCTAssertEqual(try Subvolume.list(under: try path("")).map(\.path), expected)
    }

    func testFailedDeleteOfReadOnlySnapshotKeepsItReadOnly() throws {
        let outer = try path("outer")
        try Subvolume.create(outer)
        try Subvolume.create("\(outer)/inner")
        try Subvolume.setReadOnly(outer, true)
        XCTAssertThrowsError(try Subvolume.delete(outer)) { error in
            XCTAssertEqual((error as? BtrfsError)?.kind, .nestedSubvolume, "\(error)")
        }
        XCTAssertTrue(try Subvolume.isReadOnly(outer))
    }

    // MARK: - Compression

    func testCompressionPropertyIsSetReadAndInherited() throws {
        let standby = try path("standby")
        try Subvolume.create(standby)
        XCTAssertNil(try Subvolume.compression(standby))

        try Subvolume.setCompression(standby, algorithm: "zstd")
        XCTAssertEqual(try Subvolume.compression(standby), "zstd")
        XCTAssertEqual(try btrfsProperty(standby), "compression=zstd")

        // New files inherit it.
        try write("inherit me", to: "\(standby)/file")
        XCTAssertEqual(try Subvolume.compression("\(standby)/file"), "zstd")

        // Plain directories take it too; a bogus value is refused with an explanation.
        let plain = try path("plain")
        try FileManager.default.createDirectory(atPath: plain, withIntermediateDirectories: false)
        try Subvolume.setCompression(plain, algorithm: "lzo")
        XCTAssertEqual(try btrfsProperty(plain), "compression=lzo")
        XCTAssertThrowsError(try Subvolume.setCompression(plain, algorithm: "gzip9")) { error in
            XCTAssertEqual((error as? BtrfsError)?.kind, .invalidCompression, "\(error)")
        }
        XCTAssertEqual(try Subvolume.compression(plain), "lzo")

        try Subvolume.setCompression(standby, algorithm: nil)
        XCTAssertNil(try Subvolume.compression(standby))
        try Subvolume.setCompression(standby, algorithm: nil)  // removing twice is fine
        XCTAssertEqual(try btrfsProperty(standby), "")
    }

    // MARK: - Not btrfs

    func testPathsOutsideBtrfsAreExplained() throws {
        XCTAssertTrue(Subvolume.isOnBtrfs(try path("")))
        XCTAssertFalse(Subvolume.isOnBtrfs(try path("does-not-exist")))
        let elsewhere = NSTemporaryDirectory()
        guard !Subvolume.isOnBtrfs(elsewhere) else {
            try IntegrationEnvironment.unavailable("\(elsewhere) is on btrfs; no non-btrfs path to test with")
        }
        let outside = "\(elsewhere)/pgarchive-btrfs-test-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: outside) }
        let notBtrfs = "\(outside) is not on a btrfs file system; containers must live on btrfs"

        XCTAssertFalse(Subvolume.isOnBtrfs(outside))
        XCTAssertThrowsError(try Subvolume.isSubvolume(outside)) { error in
            XCTAssertEqual((error as? BtrfsError)?.kind, .notBtrfs)
            XCTAssertTrue("\(error)".hasSuffix(notBtrfs), "\(error)")
        }
        XCTAssertThrowsError(try Subvolume.requireBtrfs(outside)) { error in
            XCTAssertTrue("\(error)".hasSuffix(notBtrfs), "\(error)")
        }
        XCTAssertThrowsError(try Subvolume.create("\(outside)/standby")) { error in
            XCTAssertEqual((error as? BtrfsError)?.kind, .notBtrfs, "\(error)")
        }
        let standby = try path("standby")
        try Subvolume.create(standby)
        XCTAssertThrowsError(try Subvolume.snapshot(source: standby, destination: "\(outside)/s", readOnly: true)) { error in
            let error = error as? BtrfsError
            XCTAssertEqual(error?.kind, .notBtrfs, "\(String(describing: error))")
            XCTAssertEqual(error?.subject, "\(outside)/s")
        }
        XCTAssertThrowsError(try Subvolume.setCompression(outside, algorithm: "zstd")) { error in
            XCTAssertEqual((error as? BtrfsError)?.kind, .notBtrfs, "\(error)")
        }
    }

    // MARK: - Helpers

    private func write(_ text: String, to file: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: file))
    }

    private func read(_ file: String) throws -> String {
        String(decoding: try Data(contentsOf: URL(fileURLWithPath: file)), as: UTF8.self)
    }

    /// errno of opening `file` for writing (creating it if missing), or 0 if that worked.
    private func openForWriting(_ file: String) -> Int32 {
        let descriptor = open(file, O_WRONLY | O_CREAT, 0o644)
        let error = errno
        if descriptor >= 0 {
            close(descriptor)
            return 0
        }
        return error
    }

    /// `btrfs property get PATH compression`, trimmed: what btrfs-progs sees.
    private func btrfsProperty(_ path: String) throws -> String {
        let btrfs = "/usr/bin/btrfs"
        guard FileManager.default.isExecutableFile(atPath: btrfs) else {
            try IntegrationEnvironment.unavailable("btrfs-progs is not installed (/usr/bin/btrfs)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: btrfs)
        process.arguments = ["property", "get", path, "compression"]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
