import Foundation

extension Container.RetentionPlan {
    /// What `snapshot expire` and `snapshot thin` print of the plan, one line each: the
    /// snapshots to delete and why, the WAL before the oldest REDO point still needed, or
    /// why no WAL may go. `show`: the plan is only shown ("would delete").
    public func rendered(thin: Bool, show: Bool) -> String {
        let verb = show ? "would delete" : "delete"
        var lines = snapshots.map { "\(verb) snapshot \($0.name): \($0.reason)" }
        if let walCutoff {
            lines.append("\(verb) \(wal.count) WAL segments before \(walCutoff) (the oldest REDO point a kept snapshot, clone or the standby needs)")
        }
        if !walBlockedBy.isEmpty { lines.append("\(verb) no WAL: \(walBlockedBy.joined(separator: "; "))") }
        if snapshots.isEmpty && wal.isEmpty && walBlockedBy.isEmpty { lines.append("nothing to \(thin ? "thin" : "expire")") }
        return lines.map { $0 + "\n" }.joined()
    }
}
