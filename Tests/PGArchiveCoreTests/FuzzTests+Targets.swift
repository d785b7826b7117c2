import Foundation
@testable import PGArchiveCore
import Postgres
import XCTest

/// One test per parser: random and mutated inputs against the properties in FuzzTests.swift.
extension FuzzTests {
    // MARK: Targets

    func testConfigFileAndContainerConfig() {
        var rng = makeGenerator("config")
        let valid = [
            "upstream = 'host=/run/postgresql port=5432 dbname=app'",
            "standby_port = 5433", "expire_after = '30 days'", "thin_daily_after 7d",
            "wal_compression = lz4 # comment", "note = 'it''s \\'quoted\\' \\\\ back\\\\slash'",
            "dump_expire_after = ''", "slot = pgarchive_main", "clone_listen_addresses = '127.0.0.1, ::1'",
            "upstream_version = 15", "system_identifier = 7301234567890123456", "escapes = 'a\\nb\\tc'",
            ContainerConfig().rendered(),
        ]
        for iteration in 0..<Self.iterations {
            let input = iteration % 3 == 0 ? randomString(&rng) : mutate(valid.randomElement(using: &rng)!, &rng)
            trace("config", iteration, input)
            let entries: [ConfigEntry]
            do {
                entries = try ConfigFile.parse(input, file: "/srv/c/pgarchive.conf")
            } catch {
                checkRejection(error, input: input, target: "ConfigFile.parse", prefix: "/srv/c/pgarchive.conf:")
                continue
            }
            // Each accepted value, written back quoted, reads as the same value.
            for entry in entries {
                let line = "\(entry.key) = \(ConfigFile.quote(entry.value))"
                let back = try? ConfigFile.parse(line, file: "q")
                check(back?.map(\.value) == [entry.value] && back?.map(\.key) == [entry.key],
                      "quote(\(entry.value.debugDescription)) read back as \(String(describing: back))", input: input)
            }
            var config = Self.initialized
            do {
                try config.apply(entries)
            } catch {
                checkRejection(error, input: input, target: "ContainerConfig.apply", prefix: "/srv/c/pgarchive.conf:")
                continue
            }
            checkRendersBack(config, input: input)
        }
    }

    /// Random settings (within each key's rules) render into a file that parses back equal.
    func testRandomContainerConfigRendersBack() {
        var rng = makeGenerator("rendered")
        for iteration in 0..<max(1, Self.iterations / 3) { // 20 random strings per config
            var config = Self.initialized
            config.upstream = randomConninfo(&rng)
            config.upstreamReplication = Bool.random(using: &rng) ? "" : randomConninfo(&rng)
            config.slot = String((0..<Int.random(in: 1...63, using: &rng)).map { _ in
                Array("abcxyz019_").randomElement(using: &rng)! })
            config.pgBindir = randomString(&rng, allowNUL: false)
            config.upstreamVersion = Int.random(in: 10...99, using: &rng)
            config.standbyPort = Int.random(in: 1024...65535, using: &rng)
            config.expireAfter = TimeSpan(seconds: Int64.random(in: 0...Int64.max, using: &rng))
            config.thinDailyAfter = TimeSpan(seconds: Int64.random(in: 0...100, using: &rng) * 86400)
            config.walCompression = ["zstd", "lz4", "gzip", "none"].randomElement(using: &rng)!
            config.btrfsCompression = ["zstd", "lzo", "zlib", "none"].randomElement(using: &rng)!
            config.dumpKeep = Int.random(in: 1...100_000, using: &rng)
            config.dumpExpireAfter = Bool.random(using: &rng) ? nil : TimeSpan(seconds: Int64.random(in: 0...1_000_000_000, using: &rng))
            config.dumpJobs = Int.random(in: 1...64, using: &rng)
            config.clonePortBase = Int.random(in: 0...65535, using: &rng)
            config.maintenanceCommand = randomString(&rng, allowNUL: false)
            config.watchdogStuckAfter = TimeSpan(seconds: Int64.random(in: 0...100_000, using: &rng))
            config.standbyUser = "u" + randomString(&rng, allowNUL: false)
            config.systemIdentifier = Bool.random(using: &rng) ? "" : String(UInt64.random(in: 0...UInt64.max, using: &rng))
            config.cloneListenAddresses = ["localhost", "", "*", "127.0.0.1", "127.0.0.1, ::1", "db.example.com,10.0.0.1"]
                .randomElement(using: &rng)!
            trace("rendered", iteration, config.rendered())
            checkRendersBack(config, input: config.rendered())
        }
    }

    func testTargetTimeParser() {
        var rng = makeGenerator("time")
        let utc = TimeZone(identifier: "UTC")!
        let valid = [
            "2026-11-21T14:30:00Z", "2026-11-21 14:30", "2026-11-21 14:30:00.123456+01:00",
            "2026-11-21", "2026-11-21 14:30 UTC", "2026-11-21T14:30:59,5-0330", "0001-01-01", "9999-12-31T23:59:60z",
        ]
        for iteration in 0..<Self.iterations {
            let input = iteration % 3 == 0 ? randomString(&rng) : mutate(valid.randomElement(using: &rng)!, &rng)
            trace("time", iteration, input)
            let date: Date
            do {
                date = try TargetTimeParser.parse(input, localTimeZone: utc)
            } catch {
                checkRejection(error, input: input, target: "TargetTimeParser.parse", prefix: "cannot read '")
                continue
            }
            // What PostgreSQL is given reads back as the same time (to the microsecond it
            // keeps; Double's resolution far from 2001 is coarser, hence 1 ms).
            let literal = TargetTimeParser.postgresLiteral(date)
            do {
                let back = try TargetTimeParser.parse(literal, localTimeZone: utc)
                check(abs(back.timeIntervalSince(date)) < 0.001, "\(literal) read back as \(back), not \(date)", input: input)
            } catch {
                check(false, "its PostgreSQL literal \(literal) was refused: \(error)", input: input)
            }
        }
        // Random instants in every shape the parser documents read back as themselves.
        for iteration in 0..<Self.iterations {
            let seconds = Int64.random(in: -62_135_596_800...253_402_300_799, using: &rng) // years 1...9999
            let micros = Int.random(in: 0..<1_000_000, using: &rng)
            let date = Date(timeIntervalSince1970: Double(seconds) + Double(micros) / 1e6)
            let literal = TargetTimeParser.postgresLiteral(date)
            trace("time-literal", iteration, literal)
            let iso = literal.replacingOccurrences(of: " ", with: "T").replacingOccurrences(of: "+00", with: "Z")
            for text in [literal, iso, literal.replacingOccurrences(of: "+00", with: " UTC")] {
                do {
                    let back = try TargetTimeParser.parse(text, localTimeZone: TimeZone(secondsFromGMT: 3600)!)
                    check(abs(back.timeIntervalSince(date)) < 0.001, "read back as \(back), not \(date)", input: text)
                } catch {
                    check(false, "refused: \(error)", input: text)
                }
            }
        }
    }

    func testRecoveryTargetRoundTripsThroughMetadata() throws {
        var rng = makeGenerator("target")
        for iteration in 0..<Self.iterations {
            let target: RecoveryTarget = switch Int.random(in: 0..<6, using: &rng) {
            case 0: .time(Date(timeIntervalSince1970: Double(Int64.random(in: 0...4_000_000_000, using: &rng))))
            case 1: .restorePoint(randomString(&rng))
            case 2: .lsn(LSN(UInt64.random(in: 0...UInt64.max, using: &rng)))
            case 3: .xid(UInt64.random(in: 0...UInt64.max, using: &rng))
            case 4: .immediate
            default: .latest
            }
            trace("target", iteration, "\(target)")
            let data = try SnapshotStore.encoder.encode(target)
            let back = try SnapshotStore.decoder.decode(RecoveryTarget.self, from: data)
            check(back == target, "decoded as \(back)", input: "\(target)")
        }
    }

    func testTimeSpan() {
        var rng = makeGenerator("span")
        let valid = ["30 days", "12h", "45 min", "1 week", "0 s", "9223372036854775807 seconds", "  2 HOURS "]
        for iteration in 0..<Self.iterations {
            let input = iteration % 3 == 0 ? randomString(&rng) : mutate(valid.randomElement(using: &rng)!, &rng)
            trace("span", iteration, input)
            if let span = TimeSpan(parsing: input) {
                check(span.seconds >= 0, "negative span \(span.seconds)", input: input)
                check(TimeSpan(parsing: span.description) == span, "\(span.description) does not read back", input: input)
            } else {
                // Rejected: in pgarchive.conf that is an error naming file, line and the value.
                var config = ContainerConfig()
                do {
                    try config.apply([ConfigEntry(key: "expire_after", value: input, file: "f", line: 1)])
                    check(false, "accepted by the config but not by TimeSpan", input: input)
                } catch {
                    checkRejection(error, input: input, target: "expire_after", prefix: "f:1: invalid value '")
                }
            }
        }
        for iteration in 0..<Self.iterations {
            let span = TimeSpan(seconds: Int64.random(in: 0...Int64.max, using: &rng) >> Int64.random(in: 0...62, using: &rng))
            trace("span-value", iteration, "\(span.seconds)")
            check(TimeSpan(parsing: span.description) == span, "\(span.description) does not read back", input: "\(span.seconds)")
        }
    }

    func testLSN() {
        var rng = makeGenerator("lsn")
        let valid = ["16/B374D848", "0/0", "FFFFFFFF/FFFFFFFF", "0/3000028", "a/b"]
        for iteration in 0..<Self.iterations {
            let input = iteration % 3 == 0 ? randomString(&rng) : mutate(valid.randomElement(using: &rng)!, &rng)
            trace("lsn", iteration, input)
            guard let lsn = LSN(input) else { continue }
            check(LSN(lsn.description) == lsn, "\(lsn.description) does not read back", input: input)
            check(lsn.description == input.uppercased().split(separator: "/").map { half in
                let trimmed = half.drop { $0 == "0" }
                return trimmed.isEmpty ? "0" : String(trimmed)
            }.joined(separator: "/"), "renders as \(lsn.description)", input: input)
        }
        for _ in 0..<Self.iterations {
            let lsn = LSN(UInt64.random(in: 0...UInt64.max, using: &rng))
            check(LSN(lsn.description) == lsn, "\(lsn.description) does not read back", input: "\(lsn.value)")
            // The segment holding it, named and read back, starts at or before it.
            let name = lsn.walFileName(timeline: 1)
            let start = WALFileName.parse(name)?.startLSN()
            check(start.map { $0 <= lsn && lsn.value - $0.value < defaultWALSegmentSize } ?? false,
                  "segment \(name) starts at \(String(describing: start))", input: "\(lsn)")
        }
    }

    func testWALFileName() {
        var rng = makeGenerator("walname")
        let valid = [
            "000000010000000A000000FF", "000000010000000000000001.partial", "000000020000000100000002.zst",
            "00000001000000000000000F.gz.partial", "00000002.history", "0000000100000000000000AB.lz4",
        ]
        for iteration in 0..<Self.iterations {
            let input = iteration % 3 == 0 ? randomString(&rng) : mutate(valid.randomElement(using: &rng)!, &rng)
            trace("walname", iteration, input)
            guard let name = WALFileName.parse(input) else { continue }
            check(name.fileName == input, "renders as \(name.fileName)", input: input)
            check(WALFileName.parse(name.baseName)?.content == name.content, "base name \(name.baseName) differs", input: input)
        }
        for _ in 0..<Self.iterations {
            let timeline = UInt32.random(in: 1...UInt32.max, using: &rng)
            let segment = UInt64.random(in: 0...(UInt64(UInt32.max) << 8 | 0xFF), using: &rng)
            let name = WALFileName(timeline: timeline, segmentNumber: segment, isPartial: Bool.random(using: &rng),
                                   compression: WALFileName.Compression.allCases.randomElement(using: &rng))
            let parsed = WALFileName.parse(name.fileName)
            check(parsed == name, "parsed as \(String(describing: parsed))", input: name.fileName)
            check(parsed?.segmentNumber() == segment, "segment number \(String(describing: parsed?.segmentNumber()))", input: name.fileName)
        }
    }

    func testConninfo() {
        var rng = makeGenerator("conninfo")
        let valid = [
            "host=/run/postgresql port=5432 dbname=app", "postgresql://user@db.example.com:5433/app?sslmode=require",
            "host=db options='-c search_path=it\\'s'", "application_name='pg archive' user=archiver",
            "postgres://u:secret@h/db", "host=db password=s3cret", "dbname = 'a b' ", "",
        ]
        for iteration in 0..<Self.iterations {
            let input = iteration % 3 == 0 ? randomString(&rng) : mutate(valid.randomElement(using: &rng)!, &rng)
            trace("conninfo", iteration, input)
            let conninfo: Conninfo
            do {
                conninfo = try Conninfo(input)
            } catch {
                checkRejection(error, input: input, target: "Conninfo", prefix: "invalid connection string: ")
                continue
            }
            do {
                let back = try Conninfo(conninfo.rendered)
                check(back == conninfo, "rendered \(conninfo.rendered.debugDescription) reads as \(back.parameters)", input: input)
            } catch {
                check(false, "rendered \(conninfo.rendered.debugDescription) refused: \(error)", input: input)
            }
            if conninfo.containsPassword {
                check(conninfo.redacted.contains("password=********"), "redacted: \(conninfo.redacted)", input: input)
                check((try? conninfo.requireNoPassword()) == nil, "password not refused", input: input)
                do { try conninfo.requireNoPassword() } catch {
                    checkRejection(error, input: input, target: "requireNoPassword", prefix: "the connection string '")
                }
                // And in pgarchive.conf it is refused naming the file, the line and ~/.pgpass.
                var config = ContainerConfig()
                do {
                    try config.apply([ConfigEntry(key: "upstream", value: input, file: "/c/pgarchive.conf", line: 3)])
                    check(false, "a password was accepted in pgarchive.conf", input: input)
                } catch {
                    checkRejection(error, input: input, target: "upstream", prefix: "/c/pgarchive.conf:3: upstream contains a password")
                    check("\(error)".contains("~/.pgpass") && "\(error)".contains("PGPASSFILE"), "\(error)", input: input)
                }
            }
        }
    }

    func testObjectNames() {
        var rng = makeGenerator("names")
        let valid = ["before-drop", "2026-11-21T08:15:00Z", "a.b_c+d", "x"]
        for iteration in 0..<Self.iterations {
            let input = iteration % 3 == 0 ? randomString(&rng) : mutate(valid.randomElement(using: &rng)!, &rng)
            trace("names", iteration, input)
            do {
                try ObjectName.validate(input, kind: "clone")
                check(!input.isEmpty && !input.contains("/") && !input.hasPrefix(".") && input.allSatisfy(\.isASCII),
                      "accepted", input: input)
            } catch {
                checkRejection(error, input: input, target: "ObjectName.validate", prefix: "")
            }
        }
    }
}
