import Crypto
import Foundation
import Logging
import PostgresNIO

/// Applies the numbered SQL files of `Migrations/` in order, each in its own transaction, and records
/// them in `schema_migrations` with a checksum. Applying twice changes nothing; a file changed after it
/// was applied is refused.
public struct Migrator: Sendable {
    public struct Migration: Sendable {
        public var version: Int
        public var file: String
        public var sql: String
        public var checksum: String
    }

    public let migrations: [Migration]

    /// The migrations shipped with the binary (or those in `directory`).
    public init(directory: URL? = nil) throws {
        let folder: URL
        if let directory {
            folder = directory
        } else if let bundled = Bundle.module.url(forResource: "Migrations", withExtension: nil) {
            folder = bundled
        } else {
            throw StoreError.migrationFailed(file: "Migrations/", message: "no migrations shipped with this binary")
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".sql") }.sorted()
        var migrations: [Migration] = []
        for file in files {
            guard let version = Int(file.prefix { $0.isNumber }) else {
                throw StoreError.migrationFailed(file: file, message: "the name must start with its number, e.g. 0002_add_x.sql")
            }
            let sql = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
            let checksum = SHA256.hash(data: Data(sql.utf8)).map { String(format: "%02x", $0) }.joined()
            if migrations.contains(where: { $0.version == version }) {
                throw StoreError.migrationFailed(file: file, message: "two migrations have number \(version)")
            }
            migrations.append(Migration(version: version, file: file, sql: sql, checksum: checksum))
        }
        self.migrations = migrations
    }

    /// Applies what is missing; returns the files applied now.
    @discardableResult
    public func migrate(_ store: Store) async throws -> [String] {
        let logger = store.logger
        return try await store.withConnection { connection in
            // One migrator at a time when several instances start together.
            try await connection.query("SELECT pg_advisory_lock(7079450215)", logger: logger)
            do {
                let applied = try await self.apply(on: connection, logger: logger)
                try await connection.query("SELECT pg_advisory_unlock(7079450215)", logger: logger)
                return applied
            } catch {
                _ = try? await connection.query("SELECT pg_advisory_unlock(7079450215)", logger: logger)
                throw error
            }
        }
    }

    private func apply(on connection: PostgresConnection, logger: Logger) async throws -> [String] {
        try await connection.query(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version integer PRIMARY KEY, file text NOT NULL, checksum text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now())
            """, logger: logger)
        var done: [Int: String] = [:]
        for try await (version, checksum) in try await connection.query(
            "SELECT version, checksum FROM schema_migrations", logger: logger
        ).decode((Int, String).self) {
            done[version] = checksum
        }
        var appliedNow: [String] = []
        for migration in migrations {
            if let checksum = done[migration.version] {
                if checksum != migration.checksum { throw StoreError.migrationChanged(version: migration.version, file: migration.file) }
                continue
            }
            try await connection.query("BEGIN", logger: logger)
            do {
                for statement in SQLScript.statements(in: migration.sql) {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query(
                    "INSERT INTO schema_migrations (version, file, checksum) VALUES (\(migration.version), \(migration.file), \(migration.checksum))",
                    logger: logger)
                try await connection.query("COMMIT", logger: logger)
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: logger)
                throw StoreError.migrationFailed(file: migration.file, message: String(reflecting: error))
            }
            logger.info("applied migration", metadata: ["file": "\(migration.file)"])
            appliedNow.append(migration.file)
        }
        return appliedNow
    }
}
