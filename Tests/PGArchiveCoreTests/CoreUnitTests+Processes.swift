import Foundation
import Logging
@testable import PGArchiveCore
import Postgres
import XCTest

/// Daemon state from pid files, and atomic writes.
extension CoreUnitTests {
    // MARK: Processes

    func testDaemonState() {
        XCTAssertEqual(DaemonState.running(pid: 42).description, "running (pid 42)")
        XCTAssertEqual(DaemonState.stopped.description, "stopped")
        XCTAssertEqual(DaemonState.stalePIDFile(pid: 42).description, "stopped (stale pid file: pid 42 is gone)")
        XCTAssertTrue(DaemonState.running(pid: 42).isRunning)
        XCTAssertFalse(DaemonState.stopped.isRunning)
        XCTAssertFalse(DaemonState.stalePIDFile(pid: 42).isRunning)
        XCTAssertEqual(DaemonState.running(pid: 42).pid, 42)
        XCTAssertEqual(DaemonState.stalePIDFile(pid: 43).pid, 43)
        XCTAssertNil(DaemonState.stopped.pid)
    }

    func testDaemonStateFromPIDFile() throws {
        let dir = try makeTemporaryDirectory()
        let pidFile = dir + "/daemon.pid"
        XCTAssertEqual(Processes.state(pidFile: pidFile, matches: { _ in true }), .stopped)

        try " \(getpid()) \n/srv/c/standby\n".write(toFile: pidFile, atomically: true, encoding: .utf8)
        XCTAssertEqual(Processes.readPIDFile(pidFile), getpid())
        XCTAssertEqual(Processes.state(pidFile: pidFile, matches: { _ in true }), .running(pid: getpid()))
        // A live pid running some other program is a stale pid file (pid reuse).
        XCTAssertEqual(Processes.state(pidFile: pidFile, matches: { $0.first == "/usr/bin/pg_receivewal" }), .stalePIDFile(pid: getpid()))

        // pid_max is at most 2^22 on Linux: this pid cannot exist.
        try "99999999\n".write(toFile: pidFile, atomically: true, encoding: .utf8)
        XCTAssertEqual(Processes.state(pidFile: pidFile, matches: { _ in true }), .stalePIDFile(pid: 99_999_999))

        try "not a pid\n".write(toFile: pidFile, atomically: true, encoding: .utf8)
        XCTAssertEqual(Processes.state(pidFile: pidFile, matches: { _ in true }), .stopped)
        XCTAssertNil(Processes.readPIDFile(pidFile))
        XCTAssertFalse(Processes.isAlive(0))
        XCTAssertFalse(Processes.isAlive(-1))
        XCTAssertTrue(Processes.isAlive(getpid()))
        XCTAssertNotNil(Processes.commandLine(of: getpid()))
    }

    // MARK: AtomicFile

    func testAtomicFileWriteLeavesNoTempFileAndSetsMode() throws {
        let dir = try makeTemporaryDirectory()
        let path = dir + "/pgarchive.conf"
        try AtomicFile.write("first\n", to: path)
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "first\n")
        XCTAssertEqual(try fileMode(path), 0o600)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["pgarchive.conf"])

        // Replacing a world-readable file gives the new mode, not the old one.
        XCTAssertEqual(chmod(path, 0o644), 0)
        try AtomicFile.write(Data("second\n".utf8), to: path)
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "second\n")
        XCTAssertEqual(try fileMode(path), 0o600)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["pgarchive.conf"])

        // The mode is given to open(2), so the umask applies.
        let mask = umask(0)
        umask(mask)
        try AtomicFile.write("", to: dir + "/empty", mode: 0o640)
        XCTAssertEqual(try fileMode(dir + "/empty"), 0o640 & ~mask)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).sorted(), ["empty", "pgarchive.conf"])

        assertPGArchiveError(try AtomicFile.write("x", to: dir + "/absent/file"),
                             "cannot write \(dir)/absent/.file.tmp.\(getpid()): No such file or directory")
    }
}
