import Foundation

/// What `check` prints (Nagios plugin format: a first line with the overall level, then one
/// line per check) and the level it exits with.
public struct CheckReport: Sendable {
    public var text: String
    public var level: HealthCheck.Level

    /// `check` of one container. Wrong permissions, which refuse every other command, are
    /// CRITICAL here, in check's format; a container that cannot be opened is an error.
    public static func container(path: String, limits: HealthCheck.Limits) async throws -> CheckReport {
        let layout = ContainerLayout(root: path)
        let permissionProblems = ContainerPermissions.problems(layout)
        if !permissionProblems.isEmpty {
            let lines = permissionProblems.map { "\tpermissions: CRITICAL (\($0))\n" }
            return CheckReport(text: "PGARCHIVE CRITICAL: \(layout.root)\n" + lines.joined(), level: .critical)
        }
        let results = try await ContainerOperation.check.run(container: layout.root) { HealthCheck.run($0, limits: limits).results }
        let worst = HealthCheck.overall(results)
        let lines = results.map { "\t\($0.name): \($0.level.label) (\($0.detail))\n" }
        return CheckReport(text: "PGARCHIVE \(worst.label): \(layout.root)\n" + lines.joined(), level: worst)
    }

    /// `check --all`: every container under the root (`option`, else containers_root), worst
    /// first. A root that cannot be read is UNKNOWN, not a pgarchive error (exit 1 would read
    /// as WARNING).
    public static func fleet(root option: String?, limits: HealthCheck.Limits) -> CheckReport {
        let paths: [String], directory: String
        do {
            directory = try Fleet.root(option: option)
            paths = try Fleet.containers(under: directory)
        } catch {
            return CheckReport(text: "PGARCHIVE UNKNOWN: \(error.message)\n", level: .unknown)
        }
        let entries = Fleet.check(paths: paths, limits: limits)
        return CheckReport(text: Fleet.renderCheck(root: directory, entries), level: Fleet.overall(entries))
    }
}
