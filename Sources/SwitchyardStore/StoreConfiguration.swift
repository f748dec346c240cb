import Foundation
import PostgresNIO

/// Where the store lives, from a `postgres://user:password@host:port/database?sslmode=...` URL.
public struct StoreConfiguration: Sendable {
    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String
    public var requireTLS: Bool
    public var maximumConnections: Int
    /// How long a request waits for a database connection before the store counts as unavailable.
    public var connectionWaitTimeout: Duration = .seconds(3)
    /// How long one store call may take once it has a connection. Past it the call answers
    /// "unavailable" and its connection is closed: a query on a connection that went dark (a cut
    /// network, or a connection cut under postgres-nio) can otherwise wait forever. Generous, so that
    /// a `PUT /v1/config` of thousands of backends is not cut short.
    public var queryTimeout: Duration = .seconds(30)

    public init(url: String, maximumConnections: Int = 20) throws {
        guard let components = URLComponents(string: url), ["postgres", "postgresql"].contains(components.scheme ?? ""),
            let host = components.host, !host.isEmpty
        else {
            throw StoreError.invalidDatabaseURL("expected postgres://user:password@host:port/database, got '\(PasswordRedaction.redacting(url))'")
        }
        self.host = host
        self.port = components.port ?? 5432
        self.username = components.user?.removingPercentEncoding ?? "postgres"
        self.password = components.password?.removingPercentEncoding
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        self.database = path.isEmpty ? self.username : path
        let sslMode = components.queryItems?.first { $0.name == "sslmode" }?.value ?? "disable"
        self.requireTLS = ["require", "verify-ca", "verify-full"].contains(sslMode)
        self.maximumConnections = maximumConnections
    }

    var clientConfiguration: PostgresClient.Configuration {
        var configuration = PostgresClient.Configuration(
            host: host, port: port, username: username, password: password, database: database,
            tls: requireTLS ? .require(.makeClientConfiguration()) : .disable)
        configuration.options.maximumConnections = maximumConnections
        configuration.options.connectTimeout = .seconds(3)
        // Every statement here is short: JIT compilation (on by default where PostgreSQL is built with
        // LLVM) only adds milliseconds when a misestimated plan crosses `jit_above_cost`.
        configuration.options.additionalStartupParameters = [("jit", "off")]
        return configuration
    }

    /// The same server with another database (tests use one database each).
    public func with(database: String) -> StoreConfiguration {
        var copy = self
        copy.database = database
        return copy
    }
}
