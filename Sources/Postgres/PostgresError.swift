import Foundation

/// Every failure of the `Postgres` module that is not a failed subprocess (`CommandError`):
/// a connection that could not be made, a statement the server rejected, input refused before
/// anything was sent, a value from the server or a tool that did not have the expected shape,
/// or PostgreSQL programs that could not be found.
///
/// `description` is one line a person can act on. It keeps libpq's and the server's own words,
/// names the connection target for connection errors, and never contains a password.
public struct PostgresError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: String, Sendable, Equatable {
        /// `PQconnectdbParams` failed.
        case connection
        /// An established connection broke (server shut down, backend terminated, network):
        /// the statement may or may not have been executed; reconnect to go on.
        case connectionLost
        /// The server rejected a statement (see `sqlState`).
        case query
        /// Input refused before anything was sent: a malformed conninfo, a conninfo carrying a
        /// password, an invalid replication slot name.
        case invalidInput
        /// A value from the server or from a tool's output was missing, NULL or malformed.
        case unexpectedResult
        /// The PostgreSQL programs (pg_ctl, pg_basebackup, …) could not be found, or have the
        /// wrong major version.
        case binaries
    }

    public var kind: Kind
    /// The server's primary message, or libpq's message (made single-line), or ours.
    public var message: String
    /// The five-character SQLSTATE (`42P01` undefined_table, `42704` undefined_object, …) of
    /// a server error; `nil` for errors that did not come from the server.
    public var sqlState: String?
    public var detail: String?
    public var hint: String?
    /// What was being done when the error happened: for `.connection` and `.connectionLost`,
    /// the target in `key=value` form without the password (`host=/tmp/x port=5999`); for
    /// other kinds an activity such as `creating replication slot 'pgarchive'`.
    public var context: String?

    public init(kind: Kind, message: String, sqlState: String? = nil, detail: String? = nil,
                hint: String? = nil, context: String? = nil) {
        self.kind = kind
        self.message = message
        self.sqlState = sqlState
        self.detail = detail
        self.hint = hint
        self.context = context
    }

    public var description: String {
        var text: String
        switch kind {
        case .connection:
            text = "could not connect to PostgreSQL"
            if let context, !context.isEmpty { text += " (\(context))" }
            text += ": " + message
        case .connectionLost:
            text = "lost the connection to PostgreSQL"
            if let context, !context.isEmpty { text += " (\(context))" }
            text += ": " + message
        case .query:
            text = context.map { "\($0) failed: " } ?? "PostgreSQL error: "
            text += message
        case .invalidInput, .unexpectedResult, .binaries:
            text = context.map { "\($0): " } ?? ""
            text += message
        }
        if let sqlState { text += " (SQLSTATE \(sqlState))" }
        if let detail, !detail.isEmpty { text = Self.joinSentence(text, "DETAIL: " + detail) }
        if let hint, !hint.isEmpty { text = Self.joinSentence(text, "HINT: " + hint) }
        return Self.singleLine(text)
    }

    /// The same error with `context` set, unless it already has one.
    public func adding(context: String) -> PostgresError {
        var copy = self
        if copy.context == nil { copy.context = context }
        return copy
    }

    /// Turns a multi-line libpq message into one line: lines are trimmed and joined as
    /// sentences. `connection to server on socket "…" failed: No such file or directory\n\tIs
    /// the server running locally…?` becomes `… No such file or directory. Is the server …?`.
    static func singleLine(_ text: String) -> String {
        let lines = text.split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
        return lines.dropFirst().reduce(lines.first ?? "") { joinSentence($0, $1) }
    }

    private static func joinSentence(_ first: String, _ second: String) -> String {
        guard let last = first.last else { return second }
        return ".:;?!".contains(last) ? first + " " + second : first + ". " + second
    }
}

extension PostgresError {
    static func invalidInput(_ message: String, hint: String? = nil) -> PostgresError {
        PostgresError(kind: .invalidInput, message: message, hint: hint)
    }

    static func unexpectedResult(_ message: String) -> PostgresError {
        PostgresError(kind: .unexpectedResult, message: message)
    }
}
