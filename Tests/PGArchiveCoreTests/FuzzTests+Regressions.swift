import Foundation
@testable import PGArchiveCore
import Postgres
import XCTest

/// Inputs the properties once found bugs with, kept as fixed cases.
extension FuzzTests {
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
}
