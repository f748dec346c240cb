import Foundation
import PostgresNIO
import SwitchyardCore

extension Store {
    /// Runs `body`'s reads on one connection (`StoreReader`), outside any transaction.
    public func read<T: Sendable>(_ body: @escaping @Sendable (StoreReader) async throws -> T) async throws -> T {
        try await withConnection { try await body(StoreReader(connection: $0, logger: self.logger)) }
    }

    /// `StoreReader.backends(in:after:limit:)` in batches of consecutive backends, in order, as
    /// PostgreSQL sends them: the caller works on one while the next is on its way.
    public func backendBatches(in pool: String, after cursor: String?, limit: Int) -> AsyncThrowingStream<[BackendRecord], any Error> {
        AsyncThrowingStream { continuation in
            let reader = Task {
                do {
                    try await read { reader in
                        try await reader.backends(in: pool, after: cursor, limit: limit) { continuation.yield($0) }
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in reader.cancel() }
        }
    }

    /// The whole configuration and its generation, read from one snapshot.
    public func document() async throws -> StoredConfiguration {
        try await withTransaction { connection in
            try await connection.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: self.logger)
            var (generation, tokenGeneration): (Int64, Int64) = (0, 0)
            for try await value in try await connection.query("SELECT generation, token_generation FROM config_state", logger: self.logger)
                .decode((Int64, Int64).self)
            {
                (generation, tokenGeneration) = value
            }
            let document = try await StoreReader(connection: connection, logger: self.logger).document()
            return StoredConfiguration(document: document, generation: generation, tokenGeneration: tokenGeneration)
        }
    }

    /// Audit rows of generations after `since`, oldest first, starting after row `cursor`.
    public func changes(since: Int64, afterID cursor: Int64?, limit: Int) async throws -> [ChangeRecord] {
        try await withConnection { connection in
            let limit = min(limit, Int(Int32.max))
            let rows = try await connection.query(
                """
                SELECT id, generation, at, actor, request, action, resource_type, resource, before::text, after::text
                FROM audit_log WHERE generation > \(since) AND id > \(cursor ?? 0) ORDER BY id LIMIT \(limit)
                """, logger: self.logger)
            return try await Self.decodeChanges(rows)
        }
    }

    /// Configuration changes made after `generation`, newest first: what a rollback to it must undo.
    public func configChanges(after generation: Int64) async throws -> [ConfigChange] {
        try await withConnection { connection in
            let rows = try await connection.query(
                """
                SELECT id, generation, at, actor, request, action, resource_type, resource, before::text, after::text
                FROM audit_log WHERE generation > \(generation) AND resource_type <> 'token' ORDER BY id DESC
                """, logger: self.logger)
            return try await Self.decodeChanges(rows).map { try $0.configChange() }
        }
    }

    static func decodeChanges(_ rows: PostgresRowSequence) async throws -> [ChangeRecord] {
        var records: [ChangeRecord] = []
        for try await (id, generation, at, actor, request, action, kind, resource, before, after) in rows.decode(
            (Int64, Int64, Date, String, String, String, String, String, String?, String?).self)
        {
            guard let action = ChangeAction(rawValue: action), let kind = ResourceKind(rawValue: kind) else {
                throw StoreError.corruptRow("audit row \(id)")
            }
            records.append(
                ChangeRecord(
                    id: id, generation: generation, time: at, actor: actor, request: request, action: action, kind: kind,
                    resource: resource, before: before, after: after))
        }
        return records
    }
}

extension ChangeRecord {
    /// The audit row as a configuration change (for rollback and for showing it redacted).
    public func configChange() throws -> ConfigChange {
        try Self.configChange(kind: kind, resource: resource, before: before, after: after, id: id)
    }

    /// Audit row `id`'s `resource`, `before` and `after` texts as a configuration change.
    static func configChange(kind: ResourceKind, resource path: String, before: String?, after: String?, id: Int64) throws
        -> ConfigChange
    {
        guard let resource = ResourceID(kind: kind, path: path) else { throw StoreError.corruptRow("audit row \(id) resource") }
        let before = try before.flatMap { try ResourceJSON.decodeState(kind: kind, from: $0) }
        let after = try after.flatMap { try ResourceJSON.decodeState(kind: kind, from: $0) }
        return ConfigChange(resource: resource, before: before, after: after)
    }
}

extension Store {
    /// What moved since `generation`: the current generation and token generation, and the
    /// configuration changes of the generations in between, oldest first, all read in one snapshot
    /// (a write holds the generation row until it commits, so every change up to the generation read
    /// is visible beside it). `changes` is nil when there are more than `limit` of them: reading the
    /// whole configuration is then the cheaper way.
    ///
    /// `LIMIT 1` tells the planner what it cannot know from statistics: `config_state` has one row. Its
    /// estimate otherwise scales with the table's pages, which fill with dead versions of that row at
    /// a thousand writes a second (1,810 rows estimated in a fresh database), and the plan cost grew
    /// past the JIT threshold: every reload compiled its plan with LLVM, ~20 ms of PostgreSQL's CPU.
    public func configChanges(since generation: Int64, limit: Int) async throws -> (
        generation: Int64, tokenGeneration: Int64, changes: [ConfigChange]?
    ) {
        try await withConnection { connection in
            let rows = try await connection.query(
                """
                SELECT s.generation, s.token_generation, a.id, a.resource_type, a.resource, a.after::text
                FROM (SELECT generation, token_generation FROM config_state LIMIT 1) s
                LEFT JOIN LATERAL (
                    SELECT id, generation, resource_type, resource, after FROM audit_log
                    WHERE generation > \(generation) AND generation <= s.generation AND resource_type <> 'token'
                    ORDER BY generation, id LIMIT \(limit + 1)
                ) a ON true
                ORDER BY a.generation, a.id
                """, logger: self.logger)
            var (current, tokenGeneration): (Int64, Int64) = (0, 0)
            var changes: [ConfigChange] = []
            for try await (generationNow, tokens, id, kind, path, after) in rows.decode(
                (Int64, Int64, Int64?, String?, String?, String?).self)
            {
                (current, tokenGeneration) = (generationNow, tokens)
                guard let id, let kind, let path else { continue }  // no change: the one row of the outer join
                guard let kind = ResourceKind(rawValue: kind) else { throw StoreError.corruptRow("audit row \(id)") }
                // Following needs only where each resource ended up (`before` stays in the audit log).
                changes.append(try ChangeRecord.configChange(kind: kind, resource: path, before: nil, after: after, id: id))
            }
            return (current, tokenGeneration, changes.count > limit ? nil : changes)
        }
    }
}
