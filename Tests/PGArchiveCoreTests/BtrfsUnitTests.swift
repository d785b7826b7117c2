import Btrfs
import Foundation
import XCTest

/// The explanations `BtrfsError` gives for each cause, built from codes alone (no btrfs needed).
final class BtrfsUnitTests: XCTestCase {
    func testDeleteNotPermittedExplainsMountOption() {
        for code in [EPERM, EACCES] {
            let error = BtrfsError(operation: .delete, path: "/srv/c/snapshots/a", code: .destroyFailed, errno: code)
            XCTAssertEqual(error.kind, .permissionDenied)
            XCTAssertEqual(
                error.explanation,
                "mount the file system with -o user_subvol_rm_allowed (or run the delete as root)"
            )
        }
    }

    func testDescriptionIsOneLineWithOperationPathCauseAndRemedy() {
        let error = BtrfsError(operation: .delete, path: "/srv/c/snapshots/a", code: .destroyFailed, errno: EPERM)
        XCTAssertEqual(
            error.description,
            "cannot delete subvolume /srv/c/snapshots/a: Could not destroy subvolume/snapshot (Operation not permitted); "
                + "mount the file system with -o user_subvol_rm_allowed (or run the delete as root)"
        )
        XCTAssertFalse(error.description.contains("\n"))
    }

    func testNotBtrfsFromLibraryCode() {
        let error = BtrfsError(operation: .checkSubvolume, path: "/tmp/x", code: .notBtrfs, errno: EINVAL)
        XCTAssertEqual(error.kind, .notBtrfs)
        XCTAssertEqual(error.explanation, "/tmp/x is not on a btrfs file system; containers must live on btrfs")
        XCTAssertEqual(error.code?.description, "Not a Btrfs filesystem")
    }

    func testNotBtrfsFromIoctlOnAnotherFileSystem() {
        // A btrfs ioctl on ext4 or tmpfs fails with ENOTTY ("Inappropriate ioctl for device").
        let error = BtrfsError(operation: .create, path: "/tmp/x/standby", code: .createFailed, errno: ENOTTY)
        XCTAssertEqual(error.kind, .notBtrfs)
        XCTAssertEqual(error.explanation, "/tmp/x/standby is not on a btrfs file system; containers must live on btrfs")
    }

    func testNotBtrfsForCompressionXattr() {
        let error = BtrfsError(operation: .setCompression, path: "/tmp/x", code: nil, errno: EOPNOTSUPP)
        XCTAssertEqual(error.kind, .notBtrfs)
        XCTAssertEqual(error.cause, String(cString: strerror(EOPNOTSUPP)))
    }

    func testReadOnlySnapshotWrite() {
        let error = BtrfsError(operation: .create, path: "/srv/c/snapshots/a/x", code: .createFailed, errno: EROFS)
        XCTAssertEqual(error.kind, .readOnly)
        XCTAssertEqual(
            error.explanation,
            "/srv/c/snapshots/a/x is read-only (a read-only snapshot, or the file system is mounted read-only); "
                + "make a writable snapshot of it to write"
        )
    }

    func testNestedSubvolumeOnDelete() {
        let error = BtrfsError(operation: .delete, path: "/srv/c/standby", code: .destroyFailed, errno: ENOTEMPTY)
        XCTAssertEqual(error.kind, .nestedSubvolume)
        XCTAssertEqual(
            error.explanation,
            "/srv/c/standby contains a nested subvolume; delete that one first (snapshots do not include nested subvolumes)"
        )
    }

    func testExistingDestinationOnCreateAndSnapshot() {
        let create = BtrfsError(operation: .create, path: "/srv/c/standby", code: .createFailed, errno: EEXIST)
        XCTAssertEqual(create.explanation, "/srv/c/standby already exists; choose another name or delete it first")

        let snapshot = BtrfsError(
            operation: .snapshot, path: "/srv/c/standby", destination: "/srv/c/snapshots/a",
            code: .snapshotFailed, errno: EEXIST
        )
        XCTAssertEqual(snapshot.kind, .exists)
        XCTAssertEqual(snapshot.subject, "/srv/c/snapshots/a")
        XCTAssertEqual(
            snapshot.description,
            "cannot snapshot /srv/c/standby to /srv/c/snapshots/a: Could not create snapshot (File exists); "
                + "/srv/c/snapshots/a already exists; choose another name or delete it first"
        )
    }

    func testPermissionExplanationDependsOnOperation() {
        let setFlag = BtrfsError(operation: .setReadOnly, path: "/srv/c/s", code: .setFlagsFailed, errno: EPERM)
        XCTAssertEqual(setFlag.explanation, "only the owner of /srv/c/s (or root) may change its read-only flag")

        let snapshot = BtrfsError(
            operation: .snapshot, path: "/srv/c/standby", destination: "/srv/c/snapshots/a",
            code: .snapshotFailed, errno: EPERM
        )
        XCTAssertEqual(snapshot.subject, "/srv/c/standby")
        XCTAssertEqual(
            snapshot.explanation,
            "only the owner of /srv/c/standby (or root) may snapshot it, into a directory they can write"
        )
    }

    func testUnreachablePathIsNotBlamedOnOwnership() {
        let error = BtrfsError(operation: .setReadOnly, path: "/srv/c/x/s", code: .statfsFailed, errno: EACCES)
        XCTAssertEqual(error.kind, .permissionDenied)
        XCTAssertEqual(
            error.explanation,
            "the user running pgarchive cannot reach /srv/c/x/s; check the permissions of the directories above it"
        )
    }

    func testOtherCausesMapToKinds() {
        let cases: [(BtrfsError.Operation, BtrfsUtilCode?, Int32, BtrfsError.Kind)] = [
            (.info, .notSubvolume, EINVAL, .notSubvolume),
            (.info, .subvolumeNotFound, ENOENT, .notFound),
            (.create, .openFailed, ENOENT, .notFound),
            (.snapshot, .snapshotFailed, EXDEV, .crossDevice),
            (.snapshot, .snapshotFailed, ENOSPC, .noSpace),
            (.delete, .destroyFailed, EBUSY, .busy),
            (.setCompression, nil, EINVAL, .invalidCompression),
            (.create, .createFailed, EINVAL, .other),
            (.list, .searchFailed, ENOTEMPTY, .other),
        ]
        for (operation, code, errno, kind) in cases {
            let error = BtrfsError(operation: operation, path: "/p", code: code, errno: errno)
            XCTAssertEqual(error.kind, kind, "\(operation) \(String(describing: code)) errno \(errno)")
            XCTAssertEqual(error.explanation == nil, kind == .other, error.description)
        }
    }

    func testDescriptionWithoutExplanationStillCarriesBothMessages() {
        let error = BtrfsError(operation: .create, path: "/p", code: .createFailed, errno: EINVAL)
        XCTAssertEqual(error.description, "cannot create subvolume /p: Could not create subvolume (Invalid argument)")
    }

    func testLibraryMessagesComeFromLibbtrfsutil() {
        XCTAssertEqual(BtrfsUtilCode.notSubvolume.description, "Not a Btrfs subvolume")
        XCTAssertEqual(BtrfsUtilCode.destroyFailed.description, "Could not destroy subvolume/snapshot")
        XCTAssertEqual(BtrfsUtilCode(rawValue: 9999).description, "libbtrfsutil error 9999")
    }
}
