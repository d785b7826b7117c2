/// pgarchive's own version, printed by `--version` and recorded in container metadata.
public enum PGArchiveVersion {
    public static let string = "0.1.0"
}
