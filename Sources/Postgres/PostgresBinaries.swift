import Foundation

/// Where the PostgreSQL programs of one major version live (`pg_ctl`, `pg_basebackup`,
/// `pg_receivewal`, `postgres`, …).
///
/// The standby and clones must run the upstream's major version, and pg_basebackup and
/// pg_receivewal must match it too, so binaries are always located for a version and checked.
public struct PostgresBinaries: Sendable, Equatable {
    /// The directory holding the programs, e.g. `/usr/lib/postgresql/15/bin`.
    public var bindir: String
    /// 15 for PostgreSQL 15.x.
    public var majorVersion: Int

    public init(bindir: String, majorVersion: Int) {
        self.bindir = bindir
        self.majorVersion = majorVersion
    }

    /// The absolute path of `tool` in `bindir`.
    public func path(_ tool: String) -> String {
        (bindir as NSString).appendingPathComponent(tool)
    }

    /// Finds the programs for `majorVersion` (any version when `nil`), trying in order:
    /// 1. `explicitBindir` (the `pg_bindir` setting), which must then have the right version;
    /// 2. Debian's `/usr/lib/postgresql/<major>/bin` (with no version given: the newest one);
    /// 3. the directory `pg_config --bindir` reports;
    /// 4. the directory of `pg_ctl` in `PATH`.
    ///
    /// Each candidate's version is read from `pg_ctl --version`. When nothing fits, the error
    /// lists every place looked at and what was found there.
    public static func locate(majorVersion: Int?, explicitBindir: String?) async throws(PostgresError) -> PostgresBinaries {
        let wanted = majorVersion.map { "PostgreSQL \($0)" } ?? "PostgreSQL"
        if let explicitBindir {
            let found = try await inspect(bindir: explicitBindir)
            if let majorVersion, found.majorVersion != majorVersion {
                throw PostgresError(
                    kind: .binaries,
                    message: "\(wanted) is needed but pg_bindir \(explicitBindir) has PostgreSQL \(found.majorVersion)",
                    hint: "install postgresql-\(majorVersion) or set pg_bindir to its bin directory")
            }
            return found
        }

        var tried: [String] = []
        var candidates: [String] = []
        if let majorVersion {
            candidates.append("/usr/lib/postgresql/\(majorVersion)/bin")
        } else if let newest = debianBindirs().first {
            candidates.append(newest)
        }
        if let fromPgConfig = await pgConfigBindir() { candidates.append(fromPgConfig) }
        if let fromPath = pathBindir() { candidates.append(fromPath) }

        var seen: Set<String> = []
        for bindir in candidates where seen.insert(bindir).inserted {
            guard FileManager.default.isExecutableFile(atPath: (bindir as NSString).appendingPathComponent("pg_ctl")) else {
                tried.append("\(bindir) (no pg_ctl)")
                continue
            }
            do {
                let found = try await inspect(bindir: bindir)
                if majorVersion == nil || found.majorVersion == majorVersion { return found }
                tried.append("\(bindir) has PostgreSQL \(found.majorVersion)")
            } catch {
                tried.append("\(bindir) (\(error.message))")
            }
        }
        let package = majorVersion.map { "postgresql-\($0)" } ?? "postgresql"
        throw PostgresError(
            kind: .binaries,
            message: "\(wanted) programs not found; looked at: " + (tried.isEmpty ? "nothing (no pg_config or pg_ctl in PATH)" : tried.joined(separator: ", ")),
            hint: "install \(package) or set pg_bindir to the directory holding pg_ctl")
    }

    /// Reads the major version of the programs in `bindir` from `pg_ctl --version`.
    public static func inspect(bindir: String) async throws(PostgresError) -> PostgresBinaries {
        let pgCtl = (bindir as NSString).appendingPathComponent("pg_ctl")
        guard FileManager.default.isExecutableFile(atPath: pgCtl) else {
            throw PostgresError(kind: .binaries, message: "\(bindir) has no executable pg_ctl",
                                hint: "set pg_bindir to the directory holding pg_ctl, e.g. /usr/lib/postgresql/15/bin")
        }
        let output: CommandOutput
        do {
            output = try await ToolCommand(executable: pgCtl, arguments: ["--version"],
                                           environment: ["LC_ALL": "C"]).runChecked()
        } catch {
            throw PostgresError(kind: .binaries, message: error.description)
        }
        guard let major = parseMajorVersion(output.standardOutput) else {
            throw PostgresError(kind: .binaries,
                                message: "could not read a version from '\(output.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines))' (\(pgCtl) --version)")
        }
        guard major >= 10 else {
            throw PostgresError(kind: .binaries, message: "\(bindir) has PostgreSQL \(major); pgarchive needs 10 or later")
        }
        return PostgresBinaries(bindir: bindir, majorVersion: major)
    }

    /// The major version in `pg_ctl (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)` (15), or in
    /// `… 9.6.24` (9), or in a development version such as `17devel`.
    static func parseMajorVersion(_ versionOutput: String) -> Int? {
        guard let range = versionOutput.range(of: "(PostgreSQL) ") else { return nil }
        let digits = versionOutput[range.upperBound...].prefix { $0.isNumber }
        return Int(digits)
    }

    /// `/usr/lib/postgresql/*/bin` directories holding pg_ctl, newest version first.
    static func debianBindirs() -> [String] {
        let root = "/usr/lib/postgresql"
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: root))?.compactMap(Int.init) ?? []
        return versions.sorted(by: >).map { "\(root)/\($0)/bin" }
            .filter { FileManager.default.isExecutableFile(atPath: "\($0)/pg_ctl") }
    }

    private static func pgConfigBindir() async -> String? {
        guard let pgConfig = findInPath("pg_config"),
              let output = try? await ToolCommand(executable: pgConfig, arguments: ["--bindir"]).runChecked()
        else { return nil }
        let bindir = output.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
        return bindir.isEmpty ? nil : bindir
    }

    private static func pathBindir() -> String? {
        guard let pgCtl = findInPath("pg_ctl") else { return nil }
        // Debian's /usr/bin/pg_ctl… are wrappers; resolve links to reach the real directory.
        let resolved = (pgCtl as NSString).resolvingSymlinksInPath
        return (resolved as NSString).deletingLastPathComponent
    }

    private static func findInPath(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") where !directory.isEmpty {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}
