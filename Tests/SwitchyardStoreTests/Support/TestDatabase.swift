import Foundation
import Logging
import PostgresNIO
import SwitchyardStore

/// A PostgreSQL database of a test's own, migrated, with a running `Store` on it.
enum TestDatabase {
    /// The PostgreSQL URL for administration (creating test databases).
    static var adminURL: String {
        get throws {
            let environment = ProcessInfo.processInfo.environment
            guard let url = environment["SWITCHYARD_TEST_DATABASE_URL"] ?? environment["DATABASE_URL"] else {
                throw SetupError("set SWITCHYARD_TEST_DATABASE_URL (scripts/test does) to a PostgreSQL that may create databases")
            }
            return url
        }
    }

    static let logger: Logger = {
        var logger = Logger(label: "switchyard-store-test")
        logger.logLevel = ProcessInfo.processInfo.environment["TEST_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .critical
        return logger
    }()

    /// Creates a fresh database, migrates it and runs `body` with a store on it; drops it after.
    static func withStore<T>(_ body: (Store, StoreConfiguration) async throws -> T) async throws -> T {
        let admin = try StoreConfiguration(url: try adminURL)
        let name = "sy_test_\(UUID().uuidString.prefix(12).lowercased().replacingOccurrences(of: "-", with: ""))"
        try await sql("CREATE DATABASE \(name)", in: admin)
        let configuration = admin.with(database: name)
        let store = Store(configuration: configuration, logger: logger)
        let running = Task { try await store.run() }
        do {
            try await Migrator().migrate(store)
            let value = try await body(store, configuration)
            running.cancel()
            _ = try? await running.value
            try await sql("DROP DATABASE IF EXISTS \(name) WITH (FORCE)", in: admin)
            return value
        } catch {
            running.cancel()
            _ = try? await running.value
            _ = try? await sql("DROP DATABASE IF EXISTS \(name) WITH (FORCE)", in: admin)
            throw error
        }
    }

    /// Runs `sql` on a connection of its own to the database of `configuration`; the first column of
    /// every row as text.
    @discardableResult
    static func sql(_ sql: String, in configuration: StoreConfiguration) async throws -> [String?] {
        let connection = try await connect(configuration)
        do {
            var values: [String?] = []
            for try await value in try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger).decode(String?.self) {
                values.append(value)
            }
            try await connection.close()
            return values
        } catch {
            try? await connection.close()
            throw error
        }
    }

    static func connect(_ configuration: StoreConfiguration) async throws -> PostgresConnection {
        try await PostgresConnection.connect(
            configuration: .init(
                host: configuration.host, port: configuration.port, username: configuration.username, password: configuration.password,
                database: configuration.database, tls: .disable),
            id: 1, logger: logger)
    }

    struct SetupError: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }
}
