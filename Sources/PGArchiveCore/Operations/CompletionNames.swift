import Foundation

/// Names offered by shell completion: snapshots, clones, restore points and dumped databases
/// of the container on the command line being completed.
///
/// Completion runs inside argument parsing each time the user presses TAB, so everything
/// here is fast and quiet: directory listings and one small JSON file, no server
/// connection, no config parsing, no lock, no root check, no logging. Any problem (no
/// container given, a path that is not a container, unreadable directories) yields no names.
public enum CompletionNames {
    public enum Kind: Sendable {
        case snapshots, clones, restorePoints, databases
    }

    /// The names of `kind` to offer for `words[index]`, whose text before the cursor is
    /// `prefix`: the container is taken from `-C PATH`, `--container PATH` or
    /// `--container=PATH` among the other words, else from `$PGARCHIVE`. Names already
    /// given elsewhere on the line are left out (e.g. `snapshot delete A B`).
    public static func candidates(_ kind: Kind, words: [String], index: Int, prefix: String,
                                  environment: [String: String] = ProcessInfo.processInfo.environment) -> [String] {
        guard let container = containerPath(words: words, completing: index, environment: environment) else { return [] }
        let typed = BashWords.unquote(prefix)
        let given = Set(words.indices.filter { $0 != index && $0 > 0 }.map { BashWords.unquote(words[$0]) })
        return names(kind, container: container).filter { $0.hasPrefix(typed) && !given.contains($0) }
    }

    public static func names(_ kind: Kind, container: String) -> [String] {
        switch kind {
        case .snapshots: return snapshots(container: container)
        case .clones: return clones(container: container)
        case .restorePoints: return restorePoints(container: container)
        case .databases: return databases(container: container)
        }
    }

    /// Complete snapshots: `snapshots/NAME/` with its `snapshots/NAME.json`, oldest first
    /// (names are UTC times, so name order is time order).
    public static func snapshots(container: String) -> [String] {
        let layout = ContainerLayout(root: container)
        let entries = Set(listing(layout.snapshots))
        return entries.filter { name in
            !name.hasPrefix(".") && !name.hasSuffix(".json") && entries.contains(name + ".json") && isDirectory(layout.snapshot(name))
        }.sorted()
    }

    /// Clones: `clones/NAME/` holding `pgarchive.clone.json` (one still being created has none yet).
    public static func clones(container: String) -> [String] {
        let layout = ContainerLayout(root: container)
        return listing(layout.clones).filter { name in
            !name.hasPrefix(".") && FileManager.default.fileExists(atPath: layout.clone(name) + "/" + CloneStore.metadataFile)
        }.sorted()
    }

    /// Restore points recorded in `restore_points.json`, in the order they were made.
    public static func restorePoints(container: String) -> [String] {
        let store = RestorePointStore(layout: ContainerLayout(root: container))
        return ((try? store.list()) ?? []).map(\.name)
    }

    /// Databases with dumps: the directories `dumps/<db>/`.
    public static func databases(container: String) -> [String] {
        let layout = ContainerLayout(root: container)
        return listing(layout.dumps).filter { !$0.hasPrefix(".") && isDirectory(layout.dumps + "/" + $0) }.sorted()
    }

    /// The container named on the command line, else `$PGARCHIVE`; nil when neither is given
    /// or the directory holds no pgarchive.conf. The last `-C` wins, as in argument parsing.
    /// bash splits `--container=PATH` into three words (`=` is in COMP_WORDBREAKS); both
    /// spellings are understood. Words after `--` belong to psql or pg_ctl and are ignored.
    public static func containerPath(words: [String], completing index: Int,
                                     environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        var found: String?
        var i = 1
        while i < words.count {
            let word = words[i]
            if word == "--" && i != index { break }
            if i != index && (word == "-C" || word == "--container") {
                var value = i + 1
                if value < words.count && words[value] == "=" && value != index { value += 1 }
                if value < words.count && value != index {
                    found = BashWords.unquote(words[value])
                    i = value + 1
                    continue
                }
            } else if i != index && word.hasPrefix("--container=") {
                found = BashWords.unquote(String(word.dropFirst("--container=".count)))
            }
            i += 1
        }
        if found?.isEmpty ?? true { found = environment["PGARCHIVE"] }
        guard var path = found, !path.isEmpty else { return nil }
        if path == "~" || path.hasPrefix("~/"), let home = environment["HOME"], !home.isEmpty {
            path = home + path.dropFirst()
        }
        let layout = ContainerLayout(root: path)
        guard FileManager.default.fileExists(atPath: layout.configFile) else { return nil }
        return layout.root
    }

    static func listing(_ directory: String) -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
    }

    static func isDirectory(_ path: String) -> Bool {
        var isDir: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDir) && isDir.boolValue
    }
}
