import CLibPQ
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A libpq connection to a PostgreSQL server. Owns the `PGconn` and closes it in `deinit`.
///
/// Statements go through `PQexecParams` with text-format parameters, never string
/// interpolation. Not thread-safe (like `PGconn`): use one connection from one task at a time.
public final class Connection {
    private var handle: OpaquePointer?
    private let noticeBox = NoticeBox()
    /// The connection target as given, without the password: for error messages.
    public let target: String

    /// Called with each NOTICE/WARNING the server sends (one line, e.g. `WARNING: …`). When
    /// `nil`, notices go to standard error, as libpq does by default.
    public var noticeHandler: ((String) -> Void)? {
        get { noticeBox.handler }
        set { noticeBox.handler = newValue }
    }

    /// Connects with a libpq connection string (`key=value …` or a `postgresql://` URI).
    ///
    /// `connectTimeout` (seconds) and `application_name=pgarchive` apply unless the string sets
    /// its own; the client encoding is always UTF-8, which is how results are decoded.
    /// Throws `PostgresError` (`.invalidInput` for a malformed string, `.connection` with
    /// libpq's message on one line, naming host/port/dbname but never the password).
    public convenience init(conninfo: String, connectTimeout: Int = 10,
                            applicationName: String = "pgarchive") throws(PostgresError) {
        try self.init(Conninfo(conninfo), connectTimeout: connectTimeout, applicationName: applicationName)
    }

    public init(_ conninfo: Conninfo, connectTimeout: Int = 10,
                applicationName: String = "pgarchive") throws(PostgresError) {
        // Settings are passed as separate keywords (expand_dbname = 0): nothing the user
        // wrote is re-parsed. Later keywords win, so the user's own connect_timeout and
        // application_name override ours, and our client_encoding overrides theirs.
        var pairs: [(String, String)] = [("application_name", applicationName),
                                         ("connect_timeout", String(connectTimeout))]
        pairs += conninfo.parameters.map { ($0.key, $0.value) }
        pairs.append(("client_encoding", "UTF8"))
        target = Self.describeTarget(conninfo)

        let connection = withCStringArray(pairs.map(\.0)) { keywords in
            withCStringArray(pairs.map(\.1)) { values in
                PQconnectdbParams(keywords, values, 0)
            }
        }
        guard let connection else {
            throw PostgresError(kind: .connection, message: "out of memory", context: target)
        }
        guard PQstatus(connection) == CONNECTION_OK else {
            let message = PostgresError.singleLine(String(cString: PQerrorMessage(connection)))
            PQfinish(connection)
            throw PostgresError(kind: .connection, message: message, context: target)
        }
        handle = connection
        let box = Unmanaged.passUnretained(noticeBox).toOpaque()
        PQsetNoticeReceiver(connection, { context, result in
            guard let context, let result else { return }
            let box = Unmanaged<NoticeBox>.fromOpaque(context).takeUnretainedValue()
            box.receive(result)
        }, box)
    }

    deinit {
        if let handle { PQfinish(handle) }
    }

    /// Closes the connection now; later statements throw.
    public func close() {
        if let handle { PQfinish(handle) }
        handle = nil
    }

    public var isOpen: Bool { handle.map { PQstatus($0) == CONNECTION_OK } ?? false }

    /// `PQserverVersion`: 150018 for 15.18, 90624 for 9.6.24.
    public var serverVersionNumber: Int {
        handle.map { Int(PQserverVersion($0)) } ?? 0
    }

    /// 15 for PostgreSQL 15.x (and 9 for 9.x).
    public var serverMajorVersion: Int {
        serverVersionNumber / 10000
    }

    /// Runs one SQL statement with `$1`, `$2`, … bound to `params` (text format, `nil` is
    /// NULL) and returns its rows. Throws `PostgresError` (`.query` with SQLSTATE, detail and
    /// hint from the server).
    @discardableResult
    public func query(_ sql: String, _ params: [String?] = []) throws(PostgresError) -> QueryResult {
        guard let handle else {
            throw PostgresError(kind: .connectionLost, message: "the connection was closed", context: target)
        }
        let result = withNullableCStringArray(params) { values in
            PQexecParams(handle, sql, Int32(params.count), nil, values, nil, nil, 0)
        }
        guard let result else {
            throw PostgresError(kind: PQstatus(handle) == CONNECTION_OK ? .query : .connectionLost,
                                message: PostgresError.singleLine(String(cString: PQerrorMessage(handle))),
                                context: target)
        }
        defer { PQclear(result) }
        let status = PQresultStatus(result)
        switch status {
        case PGRES_TUPLES_OK, PGRES_COMMAND_OK, PGRES_EMPTY_QUERY:
            break
        case PGRES_FATAL_ERROR, PGRES_NONFATAL_ERROR, PGRES_BAD_RESPONSE:
            throw Self.error(from: result, connection: handle, target: target)
        default:
            throw PostgresError.unexpectedResult(
                "the statement returned \(String(cString: PQresStatus(status))), which pgarchive does not handle (COPY and replication commands are not supported here)")
        }

        let columnCount = Int(PQnfields(result))
        let rowCount = Int(PQntuples(result))
        let columns = (0..<columnCount).map { String(cString: PQfname(result, Int32($0))) }
        var rows: [[String?]] = []
        rows.reserveCapacity(rowCount)
        for row in 0..<Int32(rowCount) {
            rows.append((0..<Int32(columnCount)).map { column in
                PQgetisnull(result, row, column) != 0 ? nil : String(cString: PQgetvalue(result, row, column))
            })
        }
        let commandStatus = String(cString: PQcmdStatus(result))
        let affected = Int(String(cString: PQcmdTuples(result))) ?? 0
        return QueryResult(columns: columns, rows: rows, commandStatus: commandStatus, affectedRows: affected)
    }

    /// Runs one command (`CHECKPOINT`, `INSERT …`) and returns the number of rows it affected.
    @discardableResult
    public func execute(_ sql: String, _ params: [String?] = []) throws(PostgresError) -> Int {
        try query(sql, params).affectedRows
    }

    private static func error(from result: OpaquePointer, connection: OpaquePointer, target: String) -> PostgresError {
        func field(_ code: Character) -> String? {
            guard let value = PQresultErrorField(result, Int32(code.asciiValue!)) else { return nil }
            return String(cString: value)
        }
        let lost = PQstatus(connection) != CONNECTION_OK
        guard let primary = field("M") else {
            // No server error fields: libpq's own failure, such as a connection that broke.
            var message = String(cString: PQresultErrorMessage(result))
            if message.isEmpty { message = String(cString: PQerrorMessage(connection)) }
            return PostgresError(kind: lost ? .connectionLost : .query, message: PostgresError.singleLine(message),
                                 context: lost ? target : nil)
        }
        // A terminated backend sends a FATAL error (57P01 admin_shutdown) before closing.
        return PostgresError(kind: lost ? .connectionLost : .query, message: PostgresError.singleLine(primary),
                             sqlState: field("C"),
                             detail: field("D").map(PostgresError.singleLine),
                             hint: field("H").map(PostgresError.singleLine),
                             context: lost ? target : nil)
    }

    /// `host=… port=… dbname=… user=…` as given (never the password), or a note that libpq's
    /// defaults (PGHOST, the default socket, …) were used.
    static func describeTarget(_ conninfo: Conninfo) -> String {
        let shown = ["host", "hostaddr", "port", "dbname", "user"].compactMap { key in
            conninfo.value(for: key).map { "\(key)=\(Conninfo.quote($0))" }
        }
        return shown.isEmpty ? "default connection parameters" : shown.joined(separator: " ")
    }
}

/// Receives server notices for a connection; referenced unretained by libpq's callback and
/// kept alive by the `Connection`.
private final class NoticeBox {
    var handler: ((String) -> Void)?

    func receive(_ result: OpaquePointer) {
        let text = PostgresError.singleLine(String(cString: PQresultErrorMessage(result)))
        if let handler {
            handler(text)
        } else {
            FileHandle.standardError.write(Data((text + "\n").utf8))
        }
    }
}

private func withCStringArray<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
    let pointers = strings.map { UnsafePointer(strdup($0)) } + [nil]
    defer { for pointer in pointers { free(UnsafeMutablePointer(mutating: pointer)) } }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}

private func withNullableCStringArray<R>(_ strings: [String?], _ body: (UnsafePointer<UnsafePointer<CChar>?>?) -> R) -> R {
    guard !strings.isEmpty else { return body(nil) }
    let pointers = strings.map { $0.map { UnsafePointer(strdup($0)) } ?? nil }
    defer { for pointer in pointers { free(UnsafeMutablePointer(mutating: pointer)) } }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}
