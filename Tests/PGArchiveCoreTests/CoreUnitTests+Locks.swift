import Foundation
import Logging
@testable import PGArchiveCore
import Postgres
import XCTest

/// ContainerLock: one holder, waiting, errors.
extension CoreUnitTests {
    // MARK: ContainerLock

    func testContainerLockRefusesSecondHolderAndNamesTheFirst() throws {
        let run = try makeTemporaryDirectory()
        var first: ContainerLock? = try ContainerLock.acquire(.snapshots, in: run, command: "snapshot create", wait: false)
        XCTAssertEqual(first?.path, run + "/snapshots.lock")
        XCTAssertEqual(try String(contentsOfFile: run + "/snapshots.lock", encoding: .utf8), "\(getpid()) snapshot create\n")
        XCTAssertEqual(try fileMode(run + "/snapshots.lock"), 0o600)

        // flock belongs to the open file description: a second open in this process conflicts.
        XCTAssertThrowsError(try ContainerLock.acquire(.snapshots, in: run, command: "clone create x", wait: false)) { error in
            let error = error as! PGArchiveError
            XCTAssertEqual(error.exitCode, 75)
            XCTAssertEqual(error.message, "another pgarchive (pid \(getpid()), running `pgarchive snapshot create`) is working "
                + "on this container (snapshots lock); try again later")
        }
        // The failed attempt did not overwrite the holder's record.
        XCTAssertEqual(try String(contentsOfFile: run + "/snapshots.lock", encoding: .utf8), "\(getpid()) snapshot create\n")

        // Other kinds are independent.
        let container = try ContainerLock.acquire(.container, in: run, command: "start", wait: false)
        let dumps = try ContainerLock.acquire(.dumps, in: run, command: "dump run", wait: false)
        withExtendedLifetime((container, dumps)) {}

        withExtendedLifetime(first) {}
        first = nil
        let second = try ContainerLock.acquire(.snapshots, in: run, command: "clone create x", wait: false)
        XCTAssertEqual(try String(contentsOfFile: run + "/snapshots.lock", encoding: .utf8), "\(getpid()) clone create x\n")
        withExtendedLifetime(second) {}
    }

    func testContainerLockWaitsForTheHolder() throws {
        let run = try makeTemporaryDirectory()
        var holder: ContainerLock? = try ContainerLock.acquire(.container, in: run, command: "container stop", wait: false)
        let waiter = LockWaiter()
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            do {
                let lock = try ContainerLock.acquire(.container, in: run, command: "container start", wait: true,
                                                     onWait: { waiter.record(message: $0) })
                waiter.record(acquired: true)
                withExtendedLifetime(lock) {}
            } catch {
                waiter.record(message: "error: \(error)")
            }
            done.signal()
        }
        XCTAssertTrue(waiter.waitForMessage(timeout: 10))
        usleep(200_000)
        XCTAssertEqual(waiter.message, "waiting for another pgarchive (pid \(getpid()), running `pgarchive container stop`) "
            + "to finish (container lock)")
        XCTAssertFalse(waiter.acquired, "must block while the lock is held")

        withExtendedLifetime(holder) {}
        holder = nil
        XCTAssertEqual(done.wait(timeout: .now() + 10), .success)
        XCTAssertTrue(waiter.acquired)
        XCTAssertEqual(try String(contentsOfFile: run + "/container.lock", encoding: .utf8), "\(getpid()) container start\n")
    }

    func testContainerLockErrors() throws {
        assertPGArchiveError(try ContainerLock.acquire(.container, in: "/nonexistent-pgarchive-run", command: "x", wait: false),
                             "cannot open lock file /nonexistent-pgarchive-run/container.lock: No such file or directory")
        let run = try makeTemporaryDirectory()
        try "".write(toFile: run + "/empty.lock", atomically: true, encoding: .utf8)
        XCTAssertEqual(ContainerLock.describeHolder(run + "/empty.lock"), "(unknown pid)")
        XCTAssertEqual(ContainerLock.describeHolder(run + "/absent.lock"), "(unknown pid)")
        try "4242\n".write(toFile: run + "/pid-only.lock", atomically: true, encoding: .utf8)
        XCTAssertEqual(ContainerLock.describeHolder(run + "/pid-only.lock"), "(pid 4242)")
    }
}

/// What the lock waiter thread saw, shared with the test thread.
private final class LockWaiter: @unchecked Sendable {
    private let lock = NSLock()
    private var _message: String?
    private var _acquired = false

    var message: String? { lock.withLock { _message } }
    var acquired: Bool { lock.withLock { _acquired } }

    func record(message: String) { lock.withLock { _message = message } }
    func record(acquired: Bool) { lock.withLock { _acquired = acquired } }

    func waitForMessage(timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if message != nil { return true }
            usleep(20_000)
        }
        return false
    }
}
