import Foundation
import PostgresNIO
import SwitchyardCore

/// What `Store.deregister` did.
public enum DeregistrationOutcome: Sendable, Equatable {
    case deregistered(generation: Int64)
    case noPool
    case noBackend
    /// The pool has a `min_healthy_percent` guardrail, which needs every sibling: nothing was done,
    /// take the transactional path.
    case guarded
}

extension Store {
    /// Deregisters a backend in one statement that is its own transaction, in the lock order of
    /// `WriteTransaction`: the pool row (so that changes to the pool's backends stay one at a time),
    /// then the backend row (row locks read the latest committed version, so the audit row's
    /// `before` is current even after waiting), then the generation. Unless `unguarded`, a pool with
    /// a `min_healthy_percent` is left alone (`.guarded`).
    public func deregister(backend name: String, in pool: String, unguarded: Bool, context: WriteContext) async throws
        -> DeregistrationOutcome
    {
        let resource = "\(pool)/\(name)"
        let query: PostgresQuery = """
            WITH p AS (SELECT name, COALESCE((settings->>'min_healthy_percent')::int, 0) AS min_healthy
                       FROM pools WHERE name = \(pool) FOR NO KEY UPDATE),
            b AS (SELECT pool, name, address, port, weight, backup, admin_state FROM backends
                  WHERE pool = (SELECT name FROM p) AND name = \(name) FOR UPDATE),
            ok AS (SELECT b.* FROM b WHERE \(unguarded) OR (SELECT min_healthy FROM p) = 0),
            g AS (UPDATE config_state SET generation = generation + 1 WHERE EXISTS (SELECT 1 FROM ok) RETURNING generation),
            c AS (DELETE FROM backends d USING ok, g WHERE d.pool = ok.pool AND d.name = ok.name),
            a AS (INSERT INTO audit_log (generation, actor, request, action, resource_type, resource, before, after)
                  SELECT g.generation, \(context.actor), \(context.request), 'delete', 'backend', \(resource),
                         jsonb_build_object('address', ok.address, 'admin_state', ok.admin_state, 'backup', ok.backup,
                                            'port', ok.port, 'weight', ok.weight), NULL
                  FROM g, ok)
            SELECT EXISTS (SELECT 1 FROM p), EXISTS (SELECT 1 FROM b), (SELECT generation FROM g),
                   (SELECT pg_notify(\(Store.changeChannel), generation::text)::text FROM g)
            """
        // `withConnection` maps PostgreSQL errors to `StoreError`.
        return try await withConnection { connection in
            let rows = try await connection.query(query, logger: self.logger)
            for try await (poolExists, backendExists, generation, _) in rows.decode((Bool, Bool, Int64?, String?).self) {
                if let generation { return .deregistered(generation: generation) }
                if !poolExists { return .noPool }
                if !backendExists { return .noBackend }
                return .guarded
            }
            return .noPool
        }
    }
}
