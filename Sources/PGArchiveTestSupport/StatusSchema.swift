import Foundation
import Postgres
import XCTest

/// `container status --json` against docs/status.schema.json, with Python's jsonschema
/// (Debian python3-jsonschema, installed by make test); skips (fails under
/// PGARCHIVE_TEST_REQUIRE=1) without it.
public enum StatusSchema {
    public static let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("docs/status.schema.json").path

    public static func assertValid(_ json: String, file: StaticString = #filePath, line: UInt = #line) async throws {
        let python = "/usr/bin/python3"
        let probe = try await ToolCommand(executable: python, arguments: ["-c", "import jsonschema"]).run()
        if probe.exitCode != 0 {
            try IntegrationEnvironment.unavailable("python3-jsonschema is not installed (make test installs it)", file: file, line: line)
        }
        let script = "import json,sys,jsonschema; jsonschema.validate(json.load(sys.stdin), json.load(open(sys.argv[1]))); print('valid')"
        let result = try await ToolCommand(executable: python, arguments: ["-c", script, path]).run(input: json)
        XCTAssertEqual(result.exitCode, 0, "status --json does not match docs/status.schema.json:\n\(result.standardError)\n\(json)", file: file, line: line)
    }
}
