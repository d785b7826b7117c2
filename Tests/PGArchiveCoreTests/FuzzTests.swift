import Foundation
@testable import PGArchiveCore
import Postgres
import XCTest

/// Property-based tests of every parser that reads what people type or what lies on disk:
/// pgarchive.conf (ConfigFile + ContainerConfig), `--time` (TargetTimeParser), time spans,
/// LSNs, WAL file names, connection strings and object names.
///
/// Inputs are random strings and mutations of valid inputs (characters inserted, deleted and
/// replaced; quotes, backslashes, NUL, line breaks, huge numbers, unicode digits and
/// separators, very long lines). The properties:
/// - the process survives (a trap — force unwrap, integer overflow, index out of range —
///   kills the whole test run, naming the last input printed with PGARCHIVE_FUZZ_VERBOSE=1);
/// - every rejection is a thrown error whose description is non-empty and one line;
/// - every acceptance round-trips through the renderer: a rendered config parses back
///   equal, an LSN's description parses to the same LSN, a WAL file name renders as itself.
///
/// Deterministic: the seed (default below) is printed, and PGARCHIVE_FUZZ_SEED=N replays a
/// run; PGARCHIVE_FUZZ_ITERATIONS=N sets the number of inputs per target (default 1500).
/// Inputs that once found a bug are kept in the `regression…` tests at the end.
final class FuzzTests: XCTestCase {
    static let seed: UInt64 = {
        let value = ProcessInfo.processInfo.environment["PGARCHIVE_FUZZ_SEED"].flatMap { UInt64($0) } ?? 20_261_121
        print("FuzzTests: seed \(value) (replay with PGARCHIVE_FUZZ_SEED=\(value))")
        return value
    }()

    static let iterations: Int =
        ProcessInfo.processInfo.environment["PGARCHIVE_FUZZ_ITERATIONS"].flatMap { Int($0) } ?? 1500

    static let verbose = ProcessInfo.processInfo.environment["PGARCHIVE_FUZZ_VERBOSE"] == "1"

    /// Failures reported per test before the rest are counted only, so a broken property
    /// does not bury the log.
    private var reported = 0
    private var suppressed = 0

    override func tearDown() {
        if suppressed > 0 { XCTFail("\(suppressed) more property violations not shown") }
        super.tearDown()
    }

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

    // MARK: Regressions: inputs the properties above once found

    func testRegressionTimeFractionWithNonASCIIDigits() {
        // Crashed: "٣" is a number to Character.isNumber, but Int("٣00000000") is nil and was force-unwrapped.
        for input in ["2026-11-21 14:30:00.٣", "2026-11-21 14:30:00.5½", "2026-11-21T14:30:00,１２"] {
            XCTAssertThrowsError(try TargetTimeParser.parse(input)) { error in
                checkRejection(error, input: input, target: "regression", prefix: "cannot read '")
            }
        }
    }

    func testRegressionMessagesStayOnOneLine() {
        // Input with line breaks was echoed raw into messages, splitting "pgarchive: error: …".
        XCTAssertThrowsError(try TargetTimeParser.parse("2026-11-21\nrm -rf /")) { error in
            XCTAssertEqual("\(error)", "cannot read '2026-11-21\\nrm -rf /' as a time; use ISO-8601 such as 2026-11-21T14:30:00Z, 2026-11-21 14:30 (local time) or 2026-11-21 14:30:00+01:00")
        }
        var config = ContainerConfig()
        XCTAssertThrowsError(try config.apply(ConfigFile.parse("dump_keep = '1\\n2'", file: "f"))) { error in
            XCTAssertEqual("\(error)", "f:1: invalid value '1\\n2' for dump_keep: expected a whole number from 1 to 100000")
        }
        XCTAssertThrowsError(try ConfigFile.parse("k = v \u{2028}x", file: "f")) { error in
            XCTAssertEqual("\(error)", "f:1: unexpected text after the value of 'k': '\\u{2028}x' (quote values that contain spaces)")
        }
        XCTAssertThrowsError(try ObjectName.validate("a\rb", kind: "clone")) { error in
            XCTAssertEqual("\(error)", "invalid clone name 'a\\rb': use letters, digits and - _ . : + only")
        }
        // A combining mark first would merge with the opening quote of the message.
        XCTAssertThrowsError(try TargetTimeParser.parse("\u{301}0 s")) { error in
            XCTAssertTrue("\(error)".hasPrefix("cannot read '\\u{301}0 s' as a time"), "\(error)")
        }
        // Very long input is cut in the message.
        XCTAssertThrowsError(try TargetTimeParser.parse(String(repeating: "9", count: 100_000))) { error in
            XCTAssertLessThan("\(error)".count, 400)
        }
    }

    func testRegressionQuotingWorksOnScalarsNotCharacters() throws {
        // "\r\n" is one Character and was not escaped by quote(): the config file written
        // back had a line break inside a value and no longer parsed. A quote followed by a
        // combining mark is one Character too: it was neither doubled by quote() nor seen as
        // the closing quote by parse(), and Conninfo's quoting let it through likewise.
        for value in ["a\r\nb", "'\u{301}", "x'\u{301}y", "\\\u{301}", "\r\n'\u{308}\\"] {
            let entries = try ConfigFile.parse("k = " + ConfigFile.quote(value), file: "f")
            XCTAssertEqual(entries.map(\.value), [value], value.debugDescription)
            let conninfo = Conninfo([("application_name", value)])
            XCTAssertEqual(try Conninfo(conninfo.rendered).value(for: "application_name"), value, value.debugDescription)
        }
        var config = Self.initialized
        config.maintenanceCommand = "a\r\nb"
        var back = ContainerConfig()
        try back.apply(ConfigFile.parse(config.rendered(), file: "f"))
        XCTAssertEqual(back, config)
    }

    func testRegressionNULInConfigIsRefused() {
        // A NUL would cut the value short where it is handed to libpq or a command line.
        XCTAssertThrowsError(try ConfigFile.parse("upstream = 'host=db\0 password=x'", file: "f")) { error in
            XCTAssertEqual("\(error)", "f:1: contains a NUL character")
        }
    }

    // MARK: Properties

    /// Settings as `container init` leaves them. Built-in defaults alone do not make a valid
    /// file (slot '' and standby_port 0 are refused): init always sets them.
    static let initialized: ContainerConfig = {
        var config = ContainerConfig()
        config.upstream = "host=/run/postgresql dbname=postgres"
        config.slot = "pgarchive_main"
        config.upstreamVersion = 15
        config.standbyPort = 5433
        return config
    }()

    private func checkRendersBack(_ config: ContainerConfig, input: String) {
        let text = config.rendered()
        var back = ContainerConfig()
        do {
            try back.apply(ConfigFile.parse(text, file: "rendered"))
            check(back == config, "rendered config parses back different: \(text.debugDescription)", input: input)
        } catch {
            check(false, "rendered config refused: \(error)", input: input)
        }
    }

    private func checkRejection(_ error: any Error, input: String, target: String, prefix: String) {
        let message = "\(error)"
        check(error is PGArchiveError || error is PostgresError,
              "\(target) threw \(type(of: error)), not a pgarchive error", input: input)
        check(!message.trimmingCharacters(in: .whitespaces).isEmpty, "\(target): empty error message", input: input)
        check(!message.unicodeScalars.contains(where: Self.breaksLines),
              "\(target): message is not one line: \(message.debugDescription)", input: input)
        check(message.hasPrefix(prefix), "\(target): message \(message.debugDescription) does not start with \(prefix.debugDescription)",
              input: input)
    }

    /// Everything a terminal or a log reader may show as a new line.
    static func breaksLines(_ scalar: Unicode.Scalar) -> Bool {
        ["\n", "\r", "\u{0B}", "\u{0C}", "\u{85}", "\u{2028}", "\u{2029}"].contains(scalar)
    }

    private func check(_ condition: Bool, _ what: @autoclosure () -> String, input: String,
                       file: StaticString = #filePath, line: UInt = #line) {
        guard !condition else { return }
        if reported >= 10 { suppressed += 1; return }
        reported += 1
        XCTFail("\(what()) — input \(String(input.prefix(300)).debugDescription)\(input.count > 300 ? "… (\(input.count) characters)" : "") (seed \(Self.seed))",
                file: file, line: line)
    }

    private func trace(_ target: String, _ iteration: Int, _ input: String) {
        if Self.verbose { print("fuzz \(target) #\(iteration): \(String(input.prefix(200)).debugDescription)") }
    }

    // MARK: Generators

    private func makeGenerator(_ target: String) -> SplitMix64 {
        // Each target gets its own stream, so adding one does not change the others' inputs.
        var state = Self.seed
        for byte in target.utf8 { state = (state ^ UInt64(byte)) &* 0x100_0000_01B3 }
        return SplitMix64(state: state)
    }

    /// Characters that parsers trip over, each a separate pick.
    static let interesting: [String] = [
        " ", "  ", "\t", "\n", "\r", "\r\n", "\0", "'", "''", "\\", "\\'", "\"", "=", "#", ",", "/", ":", "-", "+", ".",
        "%", "@", "?", "&", "*", "T", "Z", "z", "UTC", "0", "00", "1", "9", "F", "x", "_",
        "99999999999999999999999", "18446744073709551616", "-1", "9223372036854775808",
        "é", "e\u{301}", "ß", "½", "٣", "５", "Ａ", "\u{2028}", "\u{85}", "\u{FEFF}", "\u{200B}", "😀", "\u{7F}", "\u{1B}[31m",
        ".partial", ".zst", ".gz", ".lz4", ".history", "password=", "host=", "postgresql://", "days", "min", "s",
    ]

    func randomString(_ rng: inout SplitMix64, allowNUL: Bool = true) -> String {
        let length: Int
        switch Int.random(in: 0..<100, using: &rng) {
        case 0..<5: length = 0
        case 5..<90: length = Int.random(in: 1...40, using: &rng)
        case 90..<98: length = Int.random(in: 41...400, using: &rng)
        default: length = Int.random(in: 5_000...20_000, using: &rng)
        }
        var text = ""
        for _ in 0..<length {
            switch Int.random(in: 0..<10, using: &rng) {
            case 0..<5: text.unicodeScalars.append(Unicode.Scalar(UInt8.random(in: 0x20...0x7E, using: &rng)))
            case 5..<8: text += Self.interesting.randomElement(using: &rng)!
            case 8: text.unicodeScalars.append(Unicode.Scalar(UInt8.random(in: 0...0xFF, using: &rng)))
            default:
                if let scalar = Unicode.Scalar(UInt32.random(in: 0...0x10FFFF, using: &rng)) { text.unicodeScalars.append(scalar) }
            }
        }
        if !allowNUL { text.unicodeScalars.removeAll { $0 == "\0" } }
        return text
    }

    func mutate(_ valid: String, _ rng: inout SplitMix64) -> String {
        var scalars = Array(valid.unicodeScalars)
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
            let position = Int.random(in: 0...scalars.count, using: &rng)
            switch Int.random(in: 0..<9, using: &rng) {
            case 0, 1: // insert something interesting
                scalars.insert(contentsOf: Self.interesting.randomElement(using: &rng)!.unicodeScalars, at: position)
            case 2: // delete a few
                if !scalars.isEmpty {
                    let start = min(position, scalars.count - 1)
                    scalars.removeSubrange(start..<min(scalars.count, start + Int.random(in: 1...3, using: &rng)))
                }
            case 3: // replace one by a random printable character
                if position < scalars.count { scalars[position] = Unicode.Scalar(UInt8.random(in: 0x20...0x7E, using: &rng)) }
            case 4: // flip a bit
                if position < scalars.count, let flipped = Unicode.Scalar(scalars[position].value ^ (1 << UInt32.random(in: 0..<7, using: &rng))) {
                    scalars[position] = flipped
                }
            case 5: // a huge number
                scalars.insert(contentsOf: String(repeating: "9", count: Int.random(in: 10...60, using: &rng)).unicodeScalars, at: position)
            case 6: // truncate
                scalars.removeSubrange(min(position, scalars.count)...)
            case 7: // duplicate a range
                if !scalars.isEmpty {
                    let start = Int.random(in: 0..<scalars.count, using: &rng)
                    let piece = scalars[start..<min(scalars.count, start + Int.random(in: 1...8, using: &rng))]
                    scalars.insert(contentsOf: piece, at: position)
                }
            default: // a very long line
                if Int.random(in: 0..<10, using: &rng) == 0 {
                    scalars.insert(contentsOf: String(repeating: "a", count: 20_000).unicodeScalars, at: position)
                } else {
                    scalars.insert(contentsOf: Self.interesting.randomElement(using: &rng)!.unicodeScalars, at: position)
                }
            }
        }
        var text = ""
        text.unicodeScalars.append(contentsOf: scalars)
        return text
    }

    /// A connection string libpq reads, from random keys and values (no password, no NUL).
    func randomConninfo(_ rng: inout SplitMix64) -> String {
        let keys = ["host", "port", "dbname", "user", "application_name", "sslmode", "options", "connect_timeout"]
        var pairs: [(String, String)] = []
        for _ in 0..<Int.random(in: 0...4, using: &rng) {
            pairs.append((keys.randomElement(using: &rng)!, randomString(&rng, allowNUL: false)))
        }
        return Conninfo(pairs).rendered
    }
}

/// Sebastiano Vigna's SplitMix64: tiny, fast, and the same numbers on every machine.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
