import Foundation

/// A tablespace of the standby as `container status`, `check` and `metrics` show it.
public struct TablespaceStatus: Sendable, Codable, Equatable {
    public var oid: String
    /// From `standby/pgarchive.tablespaces.json` (refreshed at each snapshot); "" if unknown.
    public var name: String
    /// Where `pg_tblspc/OID` resolves.
    public var path: String
    public var sizeBytes: Int64
    /// Whether it resolves inside standby/ (it must; else no snapshot can carry it).
    public var insideContainer: Bool

    /// The standby's tablespaces.
    public static func gather(_ container: Container) -> [TablespaceStatus] {
        let names = Dictionary(Tablespaces.readMap(dataDirectory: container.layout.standby).map { (String($0.oid), $0.name) },
                               uniquingKeysWith: { a, _ in a })
        return Tablespaces.entries(dataDirectory: container.layout.standby).map { entry in
            TablespaceStatus(oid: entry.oid, name: names[entry.oid] ?? "", path: entry.resolved,
                             sizeBytes: entry.inside ? Tablespaces.size(of: entry.resolved) : 0, insideContainer: entry.inside)
        }
    }

    var label: String { name.isEmpty ? "tablespace \(oid)" : "tablespace \(name) (\(oid))" }
}

extension ContainerStatus {
    /// Problems about tablespaces: one outside standby/, a CREATE TABLESPACE the standby refused.
    var tablespaceProblems: [String] {
        var problems = (tablespaces ?? []).filter { !$0.insideContainer }.map {
            "\($0.label) of the standby resolves to \($0.path), outside the container: snapshots do not carry it; `pgarchive container resync` maps it into standby/"
        }
        if let tablespaceRefusal { problems.append(tablespaceRefusal) }
        return problems
    }

    /// Lines for `container status`.
    var renderedTablespaces: [String] {
        var lines: [String] = []
        for ts in tablespaces ?? [] {
            lines.append("tablespace:       \(ts.name.isEmpty ? ts.oid : "\(ts.name) (oid \(ts.oid))"), \(ByteCount.human(ts.sizeBytes)), " + (ts.insideContainer ? "inside standby/" : "OUTSIDE the container at \(ts.path)"))
        }
        if let tablespaceRefusal { lines.append("tablespace:       STOPPED: \(tablespaceRefusal)") }
        return lines
    }
}

extension HealthCheck {
    /// `check`: CRITICAL when a tablespace lies outside standby/ or the standby refused a
    /// CREATE TABLESPACE (the remedy is in the detail).
    static func tablespaceResult(_ s: ContainerStatus) -> Result {
        let problems = s.tablespaceProblems
        if !problems.isEmpty { return Result(name: "tablespaces", level: .critical, detail: problems.joined(separator: "; ")) }
        let list = (s.tablespaces ?? []).map { "\($0.name.isEmpty ? $0.oid : $0.name) \(ByteCount.human($0.sizeBytes))" }
        return Result(name: "tablespaces", level: .ok, detail: list.isEmpty ? "none" : "\(list.count) inside standby/: " + list.joined(separator: ", "))
    }
}

extension ContainerMetrics {
    /// `pgarchive_tablespace_bytes` and `pgarchive_tablespace_inside_container`, one sample per
    /// tablespace of the standby, plus `pgarchive_tablespace_refused` (1 while the standby
    /// waits before a CREATE TABLESPACE it refused).
    static func tablespaceFamilies(_ sources: [Source]) -> [PrometheusExposition.Family] {
        typealias Sample = PrometheusExposition.Sample
        typealias Label = PrometheusExposition.Label
        var bytes: [Sample] = [], inside: [Sample] = [], refused: [Sample] = []
        for source in sources {
            guard let status = source.status else { continue }
            for ts in status.tablespaces ?? [] {
                let labels = [Label("container", source.path), Label("tablespace", ts.name.isEmpty ? ts.oid : ts.name), Label("oid", ts.oid)]
                bytes.append(Sample(labels: labels, value: Double(ts.sizeBytes)))
                inside.append(Sample(labels: labels, value: ts.insideContainer ? 1 : 0))
            }
            refused.append(Sample(labels: [Label("container", source.path)], value: status.tablespaceRefusal == nil ? 0 : 1))
        }
        return [
            .init(name: "pgarchive_tablespace_bytes", help: "Bytes of each tablespace of the standby.", samples: bytes),
            .init(name: "pgarchive_tablespace_inside_container", help: "1 if the tablespace's pg_tblspc entry resolves inside standby/ (it must), 0 if outside.", samples: inside),
            .init(name: "pgarchive_tablespace_refused", help: "1 while the standby waits before a CREATE TABLESPACE it would replay outside the container (`pgarchive container resync` is the remedy).", samples: refused),
        ]
    }
}
