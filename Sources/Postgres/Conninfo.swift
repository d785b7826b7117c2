import CLibPQ
import Foundation

/// A libpq connection string, parsed by libpq itself (`PQconninfoParse`) into its parameters.
///
/// Accepts both forms libpq accepts — `host=/run/postgresql port=5432 dbname=app` and
/// `postgresql://user@db.example.com:5433/app?sslmode=require` — and renders the key/value
/// form. Parameters keep libpq's order of keywords, so the same settings always render the
/// same string.
///
/// pgarchive passes connection strings to PostgreSQL tools on their command line (`-d`),
/// where every user of the machine can read them in `ps`. So a connection string must never
/// carry a password: see `requireNoPassword()`, and `redacted` for anything that is printed.
public struct Conninfo: Sendable, Hashable, CustomStringConvertible {
    /// One `key=value` setting.
    public struct Parameter: Sendable, Hashable {
        public var key: String
        public var value: String

        public init(key: String, value: String) {
            self.key = key
            self.value = value
        }
    }

    /// The settings present in the string, in libpq's keyword order. Settings not given are
    /// absent (libpq's defaults and `PG*` environment variables are not applied here).
    public private(set) var parameters: [Parameter]

    /// Parses `string` with libpq. Throws `PostgresError` (`.invalidInput`) with libpq's own
    /// message, e.g. `missing "=" after "mydb" in connection info string`.
    public init(_ string: String) throws(PostgresError) {
        var errorMessage: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(string, &errorMessage) else {
            var message = "out of memory while parsing a connection string"
            if let errorMessage {
                message = PostgresError.singleLine(String(cString: errorMessage))
                PQfreemem(errorMessage)
            }
            throw PostgresError(kind: .invalidInput, message: "invalid connection string: " + message)
        }
        defer { PQconninfoFree(options) }
        var parameters: [Parameter] = []
        var option = options
        while let keyword = option.pointee.keyword {
            if let value = option.pointee.val {
                parameters.append(Parameter(key: String(cString: keyword), value: String(cString: value)))
            }
            option += 1
        }
        self.parameters = parameters
    }

    /// Builds a connection string from settings in the given order, e.g. for a clone
    /// `Conninfo([("host", runDirectory), ("port", "5433"), ("dbname", "postgres")])`.
    /// A repeated key keeps its first position and its last value. Keys are not checked here;
    /// libpq rejects unknown keys when connecting or parsing `rendered`.
    public init(_ pairs: [(String, String)]) {
        parameters = []
        for (key, value) in pairs { self = setting(key, value) }
    }

    /// The value of `key` (`host`, `port`, `dbname`, `user`, …), or `nil` when not given.
    public func value(for key: String) -> String? {
        parameters.last { $0.key == key }?.value
    }

    /// A copy with `key` set to `value`, replacing an existing setting in place or appending.
    public func setting(_ key: String, _ value: String) -> Conninfo {
        var copy = self
        if let index = copy.parameters.firstIndex(where: { $0.key == key }) {
            copy.parameters[index].value = value
        } else {
            copy.parameters.append(Parameter(key: key, value: value))
        }
        return copy
    }

    /// A copy without `key`.
    public func removing(_ key: String) -> Conninfo {
        var copy = self
        copy.parameters.removeAll { $0.key == key }
        return copy
    }

    /// The keys whose values are secrets: `password` and `sslpassword` (the passphrase of the
    /// client's SSL key). Neither may appear on a command line or in a log.
    public static let secretKeys: Set<String> = ["password", "sslpassword"]

    /// `true` when a non-empty `password` or `sslpassword` is set (also a password given in a
    /// URI as `user:secret@`).
    public var containsPassword: Bool {
        parameters.contains { Self.secretKeys.contains($0.key) && !$0.value.isEmpty }
    }

    /// The `key=value` form libpq parses back to the same settings: values are single-quoted
    /// when they are empty or contain anything but `[A-Za-z0-9_.,:/@+%-]`, with `\` and `'`
    /// escaped by a backslash. Contains the password if there is one: never print this.
    public var rendered: String {
        parameters.map { "\($0.key)=\(Self.quote($0.value))" }.joined(separator: " ")
    }

    /// `rendered` with the password and sslpassword replaced by `********`: for messages and logs.
    public var redacted: String {
        parameters.map { parameter in
            Self.secretKeys.contains(parameter.key)
                ? "\(parameter.key)=********"
                : "\(parameter.key)=\(Self.quote(parameter.value))"
        }.joined(separator: " ")
    }

    public var description: String { redacted }

    /// Throws unless the connection string is free of a password (invariant 7: passwords never
    /// appear on a command line, where `ps` shows them to every user).
    public func requireNoPassword() throws(PostgresError) {
        guard containsPassword else { return }
        throw PostgresError(
            kind: .invalidInput,
            message: "the connection string '\(redacted)' contains a password, which pgarchive refuses because connection strings end up on command lines visible in ps",
            hint: "remove it and put the password into ~/.pgpass (mode 0600) of the user running pgarchive, or into the file named by PGPASSFILE, as host:port:database:user:password" + sslPasswordAdvice)
    }

    /// Advice for an `sslpassword`, which .pgpass cannot hold; empty when there is none.
    public var sslPasswordAdvice: String {
        guard parameters.contains(where: { $0.key == "sslpassword" && !$0.value.isEmpty }) else { return "" }
        return "; for sslpassword (the passphrase of the client key) use a key without a passphrase instead, readable only by the service user (sslkey=FILE, mode 0600)"
    }

    /// Quotes a conninfo value the way libpq's parser expects (`conninfo_parse`).
    static func quote(_ value: String) -> String {
        let safe = value.unicodeScalars.allSatisfy { scalar in
            switch scalar {
            case "a"..."z", "A"..."Z", "0"..."9", "_", ".", ",", ":", "/", "@", "+", "%", "-": true
            default: false
            }
        }
        if safe && !value.isEmpty { return value }
        // Scalar by scalar: a quote followed by a combining mark is one Character.
        var quoted = "'"
        for scalar in value.unicodeScalars {
            if scalar == "\\" || scalar == "'" { quoted.unicodeScalars.append("\\") }
            quoted.unicodeScalars.append(scalar)
        }
        quoted.append("'")
        return quoted
    }
}
