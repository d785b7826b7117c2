import Foundation
import PGArchiveCore

/// Asks on a terminal; refuses without a terminal unless --force.
func confirmDestructive(_ question: String, force: Bool) throws {
    if force { return }
    guard isatty(STDIN_FILENO) == 1 else {
        throw PGArchiveError("\(question) Refusing without a terminal to ask on; pass --force to confirm.")
    }
    FileHandle.standardError.write(Data("\(question) Type 'yes' to go on: ".utf8))
    guard readLine()?.trimmingCharacters(in: .whitespaces) == "yes" else {
        throw PGArchiveError("not confirmed; nothing was changed")
    }
}
