import ArgumentParser
import Foundation
import PGArchiveCore

struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check that the archive restores: WAL contiguous, compressed segments intact, snapshots sound; --restore tests a real restore.",
        discussion: """
            Without starting anything: the WAL archive is contiguous from the oldest \
            snapshot's REDO segment to the newest segment, following timeline history files; \
            every compressed segment decompresses with a matching checksum and size; every \
            snapshot's metadata agrees with its pg_control; no snapshot, clone or dump run is \
            half-made. Each problem is one line naming the segment or snapshot and what to do.

            --restore also clones the newest snapshot (every snapshot with --all) to the newest \
            WAL as the temporary clone verify-<pid>, starts it, runs pg_amcheck --all \
            --heapallindexed and counts the rows of every table, then deletes the clone. The \
            result is recorded in run/verify.json and shown by `container status`, `check` \
            and `metrics`. Exit 0: all good; 1: problems found; 2: could not run.

            Examples:
              pgarchive verify
              pgarchive verify --restore
              pgarchive verify --restore --all --json | jq .problems
            """)
    @OptionGroup var options: ContainerOptions
    @Flag(help: "Also restore the newest snapshot into a temporary clone and check it with pg_amcheck and row counts.")
    var restore = false
    @Flag(help: "With --restore: restore every snapshot in turn, not only the newest.")
    var all = false
    @Flag(help: "Print the report as JSON.")
    var json = false
    @Flag(name: .customLong("no-wait"), help: "Exit 75 at once when another verify holds the verify lock.")
    var noWait = false

    func run() async throws {
        if all && !restore { throw ValidationError("--all needs --restore") }
        // The verification itself does not throw: an error here is from opening the container
        // or taking the lock (busy: 75; e.g. a full file system: 1), so it could not run: 2.
        let report: VerifyReport
        do {
            report = try await options.run(.verify, wait: !noWait) { await $0.verify(restore: restore, all: all) }
        } catch let error as PGArchiveError {
            throw PGArchiveError(error.message, exitCode: error.exitCode == 1 ? 2 : error.exitCode)
        }
        if json {
            try JSONOutput.print(report)
        } else {
            print(report.rendered(), terminator: "")
        }
        if report.exitCode != 0 { throw ExitCode(report.exitCode) }
    }
}
