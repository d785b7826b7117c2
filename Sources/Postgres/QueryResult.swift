import Foundation

/// The rows a statement returned, copied out of libpq's `PGresult` (which is freed at once),
/// every value in PostgreSQL's text format or `nil` for SQL NULL.
public struct QueryResult: Sendable, Equatable {
    /// Column names in select-list order.
    public var columns: [String]
    public var rows: [Row]
    /// The command tag, e.g. `INSERT 0 3`, `SELECT 1`, `CHECKPOINT`.
    public var commandStatus: String
    /// Rows affected by INSERT/UPDATE/DELETE/MERGE/SELECT/MOVE/FETCH/COPY (`PQcmdTuples`), 0 for
    /// other commands.
    public var affectedRows: Int

    public init(columns: [String], rows: [[String?]], commandStatus: String = "", affectedRows: Int = 0) {
        self.columns = columns
        self.rows = rows.map { Row(columns: columns, values: $0) }
        self.commandStatus = commandStatus
        self.affectedRows = affectedRows
    }

    /// The only row, or an error naming `what` when there is none or more than one.
    public func singleRow(_ what: String = "the query") throws(PostgresError) -> Row {
        guard rows.count == 1 else {
            throw .unexpectedResult("\(what) returned \(rows.count) rows where exactly one was expected")
        }
        return rows[0]
    }

    /// One row of a `QueryResult`.
    public struct Row: Sendable, Equatable {
        public var columns: [String]
        public var values: [String?]

        /// The value in column `index` (nil for NULL).
        public subscript(index: Int) -> String? {
            values[index]
        }

        /// The value in the first column named `name`; nil for NULL or a column that does not
        /// exist (the typed accessors tell these apart).
        public subscript(name: String) -> String? {
            columns.firstIndex(of: name).flatMap { values[$0] }
        }

        /// The value of column `name`; throws when the column is missing or NULL.
        public func string(_ name: String) throws(PostgresError) -> String {
            guard let index = columns.firstIndex(of: name) else {
                throw .unexpectedResult("the result has no column '\(name)' (columns: \(columns.joined(separator: ", ")))")
            }
            return try string(at: index)
        }

        /// The value of column `index`; throws when it is out of range or NULL.
        public func string(at index: Int) throws(PostgresError) -> String {
            guard values.indices.contains(index) else {
                throw .unexpectedResult("the result has no column \(index) (it has \(values.count))")
            }
            guard let value = values[index] else {
                throw .unexpectedResult("column '\(columns[index])' is NULL where a value was expected")
            }
            return value
        }

        /// The value of column `name`, or nil for NULL; throws when the column is missing.
        public func optionalString(_ name: String) throws(PostgresError) -> String? {
            guard let index = columns.firstIndex(of: name) else {
                throw .unexpectedResult("the result has no column '\(name)' (columns: \(columns.joined(separator: ", ")))")
            }
            return values[index]
        }

        public func int(_ name: String) throws(PostgresError) -> Int {
            try convert(name, to: "an integer") { Int($0) }
        }

        /// A `boolean` column: PostgreSQL's text form is `t` or `f`.
        public func bool(_ name: String) throws(PostgresError) -> Bool {
            try convert(name, to: "a boolean") { $0 == "t" ? true : $0 == "f" ? false : nil }
        }

        public func double(_ name: String) throws(PostgresError) -> Double {
            try convert(name, to: "a number") { Double($0) }
        }

        /// A `pg_lsn` column such as `0/3000028`.
        public func lsn(_ name: String) throws(PostgresError) -> LSN {
            try convert(name, to: "a WAL location") { LSN($0) }
        }

        /// A nullable `pg_lsn` column.
        public func optionalLSN(_ name: String) throws(PostgresError) -> LSN? {
            guard try optionalString(name) != nil else { return nil }
            return try lsn(name)
        }

        private func convert<T>(_ name: String, to what: String, _ transform: (String) -> T?) throws(PostgresError) -> T {
            let text = try string(name)
            guard let value = transform(text) else {
                throw .unexpectedResult("column '\(name)' holds '\(text)', which is not \(what)")
            }
            return value
        }
    }
}
