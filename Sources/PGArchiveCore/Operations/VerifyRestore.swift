import Btrfs
import Foundation
import Logging
import Postgres

extension Container {
    // MARK: restore

    /// Removes temporary verify clones whose `verify` is gone.
    func removeVerifyLeftovers() async {
        for clone in (try? clones.list()) ?? [] where clone.name.hasPrefix(Self.verifyClonePrefix) {
            guard let pid = Processes.readPIDFile(layout.clone(clone.name) + "/" + Self.verifyCloneMarkerFile) else { continue }
            if pid == getpid() || DumpStore.isLivePGArchive(pid) { continue }
            do {
                try await deleteClone(clone.name, force: true)
                logger.notice("removed temporary clone \(clone.name), left by an interrupted verify (pid \(pid))")
            } catch {
                logger.warning("cannot remove temporary clone \(clone.name): \(error)")
            }
        }
    }

    /// Clones `snapshot` to the newest WAL as `verify-<pid>`, starts it, runs pg_amcheck and
    /// counts the rows of every table, then stops and deletes the clone, also on failure.
    /// Failures of the restore itself are problems; throws only when it cannot begin.
    func verifyRestore(_ snapshot: SnapshotMetadata) async throws -> VerifyReport.RestoreResult {
        let name = Self.verifyClonePrefix + String(getpid())
        let started = Date()
        var result = VerifyReport.RestoreResult(snapshot: snapshot.name, clone: name, passed: false, durationSeconds: 0)
        let binaries = try await binaries()
        let clone: CloneMetadata
        do {
            let lock = try self.lock(.snapshots, command: "verify --restore (temporary clone)")
            defer { _ = lock }
            clone = try await createClone(name: name, target: .latest, snapshot: snapshot.name)
            try AtomicFile.write("\(getpid())\n", to: layout.clone(name) + "/" + Self.verifyCloneMarkerFile)
        } catch {
            if FileManager.default.fileExists(atPath: layout.clone(name)) { try? await deleteClone(name, force: true) }
            throw error
        }
        do {
            _ = try await startClone(name)
            try await checkClone(clone, binaries: binaries, into: &result)
        } catch {
            // Said after the clone is deleted, so the message tells what is left of it.
            let failure = await deleteTemporaryClone(name, after: error, what: "verify --restore")
            result.problems.append("snapshot \(snapshot.name) did not restore: \(failure)")
            result.durationSeconds = Date().timeIntervalSince(started)
            return result
        }
        do { try await deleteClone(name, force: true) } catch {
            result.problems.append("cannot remove temporary clone \(name): \(error); remove it with `pgarchive clone delete --force \(name)`")
        }
        result.durationSeconds = Date().timeIntervalSince(started)
        result.passed = result.problems.isEmpty
        return result
    }

    private func checkClone(_ clone: CloneMetadata, binaries: PostgresBinaries, into result: inout VerifyReport.RestoreResult) async throws {
        result.problems += Tablespaces.problems(dataDirectory: layout.clone(clone.name), what: "temporary clone \(clone.name)")
        let base = Conninfo([("host", layout.run), ("port", String(clone.port)), ("dbname", "postgres"), ("user", config.standbyUser)])
        let connection = try Connection(conninfo: base.rendered, connectTimeout: 10)
        let databases: [String]
        let amcheckAvailable: Bool
        do {
            defer { connection.close() }
            databases = try Self.dumpableDatabases(connection)
            amcheckAvailable = try connection.query("SELECT 1 FROM pg_available_extensions WHERE name = 'amcheck'").rows.count == 1
        }
        if !config.verifyAmcheck {
            result.amcheckSkipped = "verify_amcheck = off"
        } else if !amcheckAvailable {
            // Not corruption, and not to be passed over either: a verify that cannot check
            // for corruption must not look like one that found none.
            result.problems.append("snapshot \(clone.snapshot): pg_amcheck cannot run: the PostgreSQL \(binaries.majorVersion) programs in \(binaries.bindir) have no amcheck extension (install it, e.g. Debian's postgresql-\(binaries.majorVersion) ships it), or set verify_amcheck = off in pgarchive.conf to verify without it")
        } else {
            let amcheck = PgAmcheck(binaries: binaries, host: layout.run, port: clone.port, user: config.standbyUser)
            let output = try await amcheck.command.run()
            result.amcheckRan = true
            let text = (output.standardOutput + output.standardError).trimmingCharacters(in: .whitespacesAndNewlines)
            result.amcheckOutput = String(text.prefix(4000))
            if output.exitCode != 0 {
                let lines = text.split(separator: "\n").prefix(5).joined(separator: " | ")
                result.problems.append("snapshot \(clone.snapshot): pg_amcheck reported \(output.exitCode == 2 ? "corruption" : "errors") (exit \(output.exitCode.map(String.init) ?? "by signal \(output.signal ?? 0)")) in the restored clone: \(lines.isEmpty ? "no output" : lines); to look closer, `pgarchive clone create check --latest --snapshot \(clone.snapshot) --start`")
            }
        }
        result.databases = databases
        for database in databases {
            let conninfo = Conninfo([("host", layout.run), ("port", String(clone.port)), ("dbname", database), ("user", config.standbyUser)])
            do {
                let db = try Connection(conninfo: conninfo.rendered, connectTimeout: 10)
                defer { db.close() }
                db.noticeHandler = { _ in }
                let tables = try db.query("""
                    SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                    WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
                      AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%' ORDER BY 1
                    """).rows.compactMap { $0[0] }
                for table in tables {
                    do {
                        let count = try db.query("SELECT count(*) FROM ONLY \(table)").rows.first?[0].flatMap { Int64($0) } ?? 0
                        result.tablesCounted += 1
                        result.rowsCounted += count
                    } catch {
                        result.problems.append("snapshot \(clone.snapshot): counting the rows of \(table) in database '\(database)' failed in the restored clone: \(error)")
                    }
                }
            } catch {
                result.problems.append("snapshot \(clone.snapshot): cannot read database '\(database)' in the restored clone: \(error)")
            }
        }
    }
}
