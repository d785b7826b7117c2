import Foundation
@testable import PGArchiveCore
import Postgres
import XCTest

/// RecoverySettings, the one renderer of recovery settings, as exact text: for clones (their
/// postgresql.conf) and for `restore --to` (the restored postgresql.auto.conf), every target
/// kind. The choice of snapshot is SnapshotChooserTests'.
final class RecoverySettingsTests: XCTestCase {
    func snapshot() throws -> SnapshotMetadata {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "pg_controldata-15-standby-in-archive-recovery",
                                                  withExtension: "txt", subdirectory: "Fixtures"))
        let control = try ControlData.parse(try String(contentsOf: url, encoding: .utf8))
        return SnapshotMetadata(control: control, takenAt: control.lastModified, standby: nil, pgarchiveVersion: "test")
    }

    func plan(_ target: RecoveryTarget) throws -> RecoveryPlan {
        RecoveryPlan(target: target, snapshot: try snapshot())
    }

    /// `2026-11-21 09:12:00.5 UTC`.
    let time = Date(timeIntervalSince1970: 1_795_252_320.5)

    /// Every kind, with the line of its target setting (nil: none).
    var kinds: [(RecoveryTarget, String?)] {
        [
            (.time(time), "recovery_target_time = '2026-11-21 09:12:00.500000+00'"),
            (.restorePoint("before-migration"), "recovery_target_name = 'before-migration'"),
            (.lsn(LSN("0/4000050")!), "recovery_target_lsn = '0/4000050'"),
            (.xid(3 << 32 | 104), "recovery_target_xid = '12884901992'"),
            (.xid(104), "recovery_target_xid = '104'"),
            (.immediate, "recovery_target = 'immediate'"),
            (.latest, nil),
        ]
    }

    func lines(_ settings: [(String, String)]) -> [String] {
        settings.map { "\($0.0) = \(ConfigFile.quote($0.1))" }
    }

    func testTargetSettingOfEveryKind() {
        for (target, line) in kinds {
            XCTAssertEqual(lines(RecoverySettings.target(target)), line.map { [$0] } ?? [], "\(target)")
        }
    }

    func testCloneSettingsOfEveryKind() throws {
        for (target, line) in kinds {
            XCTAssertEqual(lines(RecoverySettings.clone(try plan(target))),
                           (line.map { [$0] } ?? []) + ["recovery_target_action = 'pause'", "recovery_target_timeline = 'latest'"], "\(target)")
            XCTAssertEqual(RecoverySettings.cloneSignalFiles(try plan(target)),
                           target == .latest ? ["recovery.signal", "standby.signal"] : ["recovery.signal"], "\(target)")
        }
        XCTAssertEqual(lines(RecoverySettings.recovery(try plan(.lsn(LSN("0/4000050")!)))),
                       ["recovery_target_lsn = '0/4000050'", "recovery_target_action = 'promote'", "recovery_target_timeline = 'latest'"])
    }

    /// When pgarchive promotes a clone (ClonePromotion): paused at its target, or in standby
    /// mode (`--latest`) past the archive's last record or waiting for WAL that is not there.
    func testClonePromotionIsDue() {
        typealias R = ClonePromotion.Reading
        let last = LSN("0/5000100")!
        let paused = R(paused: true, replayed: LSN("0/4000000"), waitingForWAL: false)
        let replaying = R(paused: false, replayed: LSN("0/4000000"), waitingForWAL: false)
        let past = R(paused: false, replayed: LSN("0/5000101"), waitingForWAL: false)
        let atLast = R(paused: false, replayed: last, waitingForWAL: false)
        let waiting = R(paused: false, replayed: LSN("0/4000000"), waitingForWAL: true)
        XCTAssertTrue(ClonePromotion.isDue(paused, standbyMode: false, lastRecord: nil))
        XCTAssertTrue(ClonePromotion.isDue(paused, standbyMode: true, lastRecord: last))
        for reading in [replaying, past, waiting] {
            XCTAssertFalse(ClonePromotion.isDue(reading, standbyMode: false, lastRecord: last), "targeted: only at the pause, \(reading)")
        }
        XCTAssertFalse(ClonePromotion.isDue(replaying, standbyMode: true, lastRecord: last))
        XCTAssertFalse(ClonePromotion.isDue(atLast, standbyMode: true, lastRecord: last), "the last record starts there: not yet replayed")
        XCTAssertTrue(ClonePromotion.isDue(past, standbyMode: true, lastRecord: last))
        XCTAssertFalse(ClonePromotion.isDue(past, standbyMode: true, lastRecord: nil), "unmeasured: only at the end of the WAL")
        XCTAssertTrue(ClonePromotion.isDue(waiting, standbyMode: true, lastRecord: last), "short: the check after promotion says so")
        XCTAssertTrue(ClonePromotion.isDue(waiting, standbyMode: true, lastRecord: nil))
    }

    /// A clone's whole postgresql.conf ends with its recovery settings, after restore_command
    /// (this pgarchive's `wal fetch --partial-ok`) among pgarchive's server settings.
    func testClonePostgresqlConf() throws {
        let command = RecoverySettings.cloneRestoreCommand(container: "/srv/pgarchive/main", executable: "/usr/bin/pgarchive")
        XCTAssertEqual(command, "'/usr/bin/pgarchive' wal fetch -C '/srv/pgarchive/main' --partial-ok %f %p")
        var conf = ServerConfiguration(port: 5441, socketDirectory: "/srv/pgarchive/main/run", restoreCommand: command,
                                       upstreamSettings: ["max_connections": "100"])
        conf.listenAddresses = "localhost"
        conf.extra = RecoverySettings.clone(try plan(.restorePoint("before-migration")))
        XCTAssertEqual(conf.rendered(), """
            # Written by pgarchive; it is rewritten on every start, edit pgarchive.conf instead.
            port = 5441
            listen_addresses = 'localhost'
            unix_socket_directories = '/srv/pgarchive/main/run'
            unix_socket_permissions = 0700
            hot_standby = on
            restore_command = '''/usr/bin/pgarchive'' wal fetch -C ''/srv/pgarchive/main'' --partial-ok %f %p'
            wal_retrieve_retry_interval = '1s'
            archive_mode = off
            logging_collector = off
            log_line_prefix = '%m [%p] '
            log_checkpoints = on
            max_connections = '100'
            recovery_target_name = 'before-migration'
            recovery_target_action = 'pause'
            recovery_target_timeline = 'latest'

            """)
    }

    func testRestoredAutoConfOfEveryKind() throws {
        for (target, line) in kinds {
            let text = RecoverySettings.restoredAutoConf(existing: "# Do not edit this file manually!\nwork_mem = '64MB'\n",
                                                         plan: try plan(target), port: nil, socketDirectory: nil)
            XCTAssertEqual(text, """
                # Do not edit this file manually!
                work_mem = '64MB'

                # Added by pgarchive restore: recovery from pgarchive_wal/. After the server is promoted,
                # remove these lines and the pgarchive_wal directory, and set archive_mode as you need.
                restore_command = 'cp "pgarchive_wal/%f" "%p"'

                """ + (line.map { $0 + "\n" } ?? "") + """
                recovery_target_action = 'promote'
                recovery_target_timeline = 'latest'
                archive_mode = 'off'

                """, "\(target)")
        }
    }

    func testRestoredAutoConfKeepsTheUpstreamsTextAndAddsPortAndSocket() throws {
        let plan = try plan(.immediate)
        let tail = """

            # Added by pgarchive restore: recovery from pgarchive_wal/. After the server is promoted,
            # remove these lines and the pgarchive_wal directory, and set archive_mode as you need.
            restore_command = 'cp "pgarchive_wal/%f" "%p"'
            recovery_target = 'immediate'
            recovery_target_action = 'promote'
            recovery_target_timeline = 'latest'
            archive_mode = 'off'
            port = '6543'
            unix_socket_directories = '/tmp/it''s'

            """
        func auto(_ existing: String?) -> String {
            RecoverySettings.restoredAutoConf(existing: existing, plan: plan, port: 6543, socketDirectory: "/tmp/it's")
        }
        XCTAssertEqual(auto(nil), tail, "no postgresql.auto.conf")
        XCTAssertEqual(auto(""), tail)
        XCTAssertEqual(auto("# ALTER SYSTEM settings are not used by this server\n"), tail, "the template is dropped")
        XCTAssertEqual(auto("work_mem = '64MB'"), "work_mem = '64MB'\n" + tail, "a newline is added")
        XCTAssertEqual(auto("work_mem = '64MB'\n"), "work_mem = '64MB'\n" + tail)
        // What pgarchive writes reads back as the same settings.
        let entries = try ConfigFile.parse(auto(nil), file: "postgresql.auto.conf")
        XCTAssertEqual(entries.map(\.key), ["restore_command", "recovery_target", "recovery_target_action", "recovery_target_timeline",
                                            "archive_mode", "port", "unix_socket_directories"])
        XCTAssertEqual(entries.last?.value, "/tmp/it's")
    }

    func testTheImmediateTargetIsTakenBackFromACloneConf() throws {
        var conf = ServerConfiguration(port: 5441, socketDirectory: "/run", restoreCommand: "x", upstreamSettings: [:])
        conf.extra = RecoverySettings.clone(try plan(.immediate))
        let text = conf.rendered()
        XCTAssertTrue(RecoverySettings.hasImmediateTarget(postgresqlConf: text))
        let removed = try XCTUnwrap(RecoverySettings.removingImmediateTarget(postgresqlConf: text))
        XCTAssertFalse(removed.contains("recovery_target ="))
        XCTAssertEqual(removed.split(separator: "\n").count, text.split(separator: "\n").count - 1)
        XCTAssertTrue(removed.hasSuffix("recovery_target_action = 'pause'\nrecovery_target_timeline = 'latest'\n"))
        XCTAssertFalse(RecoverySettings.hasImmediateTarget(postgresqlConf: removed))
        XCTAssertNil(RecoverySettings.removingImmediateTarget(postgresqlConf: removed))
        XCTAssertEqual(Container.effectiveTarget(recorded: .immediate, postgresqlConf: removed), .latest)
        XCTAssertEqual(Container.effectiveTarget(recorded: .immediate, postgresqlConf: text), .immediate)
    }
}
