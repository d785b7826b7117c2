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
/// Inputs that once found a bug are kept in the `regression…` tests (FuzzTests+Regressions.swift).
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

    func checkRendersBack(_ config: ContainerConfig, input: String) {
        let text = config.rendered()
        var back = ContainerConfig()
        do {
            try back.apply(ConfigFile.parse(text, file: "rendered"))
            check(back == config, "rendered config parses back different: \(text.debugDescription)", input: input)
        } catch {
            check(false, "rendered config refused: \(error)", input: input)
        }
    }

    func checkRejection(_ error: any Error, input: String, target: String, prefix: String) {
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

    func check(_ condition: Bool, _ what: @autoclosure () -> String, input: String,
                       file: StaticString = #filePath, line: UInt = #line) {
        guard !condition else { return }
        if reported >= 10 { suppressed += 1; return }
        reported += 1
        XCTFail("\(what()) — input \(String(input.prefix(300)).debugDescription)\(input.count > 300 ? "… (\(input.count) characters)" : "") (seed \(Self.seed))",
                file: file, line: line)
    }

    func trace(_ target: String, _ iteration: Int, _ input: String) {
        if Self.verbose { print("fuzz \(target) #\(iteration): \(String(input.prefix(200)).debugDescription)") }
    }

    // MARK: Generators

    func makeGenerator(_ target: String) -> SplitMix64 {
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
