import PostgresNIO

/// What can go wrong in the store, in terms the API maps to status codes.
public enum StoreError: Error, Sendable, CustomStringConvertible {
    case invalidDatabaseURL(String)
    /// PostgreSQL cannot be reached (or answered too slowly): the API answers 503.
    case unavailable(String)
    /// A migration file changed after it was applied.
    case migrationChanged(version: Int, file: String)
    case migrationFailed(file: String, message: String)
    /// A unique or foreign-key constraint refused the write.
    case constraint(sqlState: String, detail: String)
    case corruptRow(String)

    /// Never shows a database password, even when a message quotes a URL.
    public var description: String { PasswordRedaction.redacting(unredactedDescription) }

    private var unredactedDescription: String {
        switch self {
        case .invalidDatabaseURL(let message): "invalid database URL: \(message)"
        case .unavailable(let message): "store unavailable: \(message)"
        case .migrationChanged(let version, let file):
            "migration \(version) (\(file)) was changed after it was applied; restore the original file and add a new migration instead"
        case .migrationFailed(let file, let message): "migration \(file) failed: \(message)"
        case .constraint(let state, let detail): "constraint \(state): \(detail)"
        case .corruptRow(let message): "unreadable row: \(message)"
        }
    }

    /// Turns a postgres-nio error into a store error: server errors keep their SQLSTATE, the rest mean
    /// the server cannot be reached.
    static func from(_ error: any Error) -> any Error {
        if error is StoreError { return error }
        if let psql = error as? PSQLError {
            if let state = psql.serverInfo?[.sqlState] {
                let message = psql.serverInfo?[.message] ?? ""
                let detail = psql.serverInfo?[.detail].map { "\(message): \($0)" } ?? message
                if state.hasPrefix("23") { return StoreError.constraint(sqlState: state, detail: detail) }
                // 57P01 admin shutdown, 08xxx connection exceptions, 53xxx insufficient resources.
                if state.hasPrefix("08") || state.hasPrefix("57") || state.hasPrefix("53") {
                    return StoreError.unavailable(detail)
                }
                return error
            }
            return StoreError.unavailable("\(psql.code)")
        }
        return error
    }
}
