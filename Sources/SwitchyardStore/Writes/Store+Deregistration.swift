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
    /// Deregisters a backend in one statement that is its own transaction (`DeregisterBackendStatement`
    /// has the lock order). Unless `unguarded`, a pool with a `min_healthy_percent` is left alone
    /// (`.guarded`).
    public func deregister(backend name: String, in pool: String, unguarded: Bool, context: WriteContext) async throws
        -> DeregistrationOutcome
    {
        let statement = DeregisterBackendStatement(pool: pool, name: name, unguarded: unguarded, context: context)
        // `withConnection` maps PostgreSQL errors to `StoreError`.
        return try await withConnection { connection in
            for try await row in try await connection.execute(statement, logger: self.logger) {
                if let generation = row.generation { return .deregistered(generation: generation) }
                if !row.poolExists { return .noPool }
                if !row.backendExists { return .noBackend }
                return .guarded
            }
            return .noPool
        }
    }
}
