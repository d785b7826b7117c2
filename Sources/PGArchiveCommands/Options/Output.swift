import Foundation
import PGArchiveCore

/// JSON as every `--json` prints it: the project's coder (sorted keys, ISO-8601 dates).
enum JSONOutput {
    static func encode<T: Encodable>(_ value: T) throws -> Data {
        try SnapshotStore.encoder.encode(value)
    }

    static func print<T: Encodable>(_ value: T) throws {
        Swift.print(String(decoding: try encode(value), as: UTF8.self))
    }
}

/// One `pgarchive: warning: …` line on stderr.
func warn(_ message: String) {
    FileHandle.standardError.write(Data("pgarchive: warning: \(message)\n".utf8))
}

extension String {
    /// Left-aligned in a column of `width`.
    func padded(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }

    /// Right-aligned in a column of `width`.
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
