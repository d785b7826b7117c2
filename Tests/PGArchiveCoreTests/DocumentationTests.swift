import Foundation
import PGArchiveCore
import XCTest

/// MANUAL.md documents every setting pgarchive.conf accepts.
final class DocumentationTests: XCTestCase {
    func testEveryConfigKeyIsInTheManual() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let manual = try String(contentsOf: root.appendingPathComponent("MANUAL.md"), encoding: .utf8)
        for (name, _) in ContainerConfig.keys + ContainerConfig.globalKeys {
            XCTAssertTrue(manual.contains("| `\(name)` |"), "MANUAL.md's configuration table lacks \(name)")
        }
    }
}
