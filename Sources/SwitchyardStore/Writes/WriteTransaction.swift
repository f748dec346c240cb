import Foundation
import Logging
import PostgresNIO
import SwitchyardCore
import Synchronization

/// The second stage of one write (the first is `PoolLocks`): reads see the transaction, changes are
/// applied with their audit rows, all stamped with this write's generation.
///
/// Locks, always in this order so that writers never deadlock: first the pool rows the write depends
/// on, then the generation. The order is kept by the types, not checked at run time: pool rows are
/// locked only through `PoolLocks`, which `Store.write` hands to the write first, and the only way
/// from there to this stage, which alone can take the generation, is `PoolLocks.done()`, which
/// consumes the `PoolLocks` value (a noncopyable type), so no pool lock can be asked for after it.
/// The generation row serialises all writers, so it is taken as late as possible: by the first change
/// (in the same statement) or by `generation()`; a write that must read the latest state of
/// everything calls `generation()` first.
public final class WriteTransaction: Sendable {
    let connection: PostgresConnection
    public let context: WriteContext
    let logger: Logger
    /// This write's generation, once taken.
    private let taken = Mutex<Int64?>(nil)

    init(connection: PostgresConnection, context: WriteContext, logger: Logger) {
        self.connection = connection
        self.context = context
        self.logger = logger
    }

    /// This write's generation. The first call bumps it (taking the lock every writer queues on, held
    /// until COMMIT) and NOTIFYs the change feed, which hears of it only if the write commits.
    public func generation() async throws -> Int64 {
        if let generation = taken.withLock({ $0 }) { return generation }
        let rows = try await query(
            """
            WITH bumped AS (UPDATE config_state SET generation = generation + 1 RETURNING generation)
            SELECT generation, pg_notify(\(Store.changeChannel), generation::text)::text FROM bumped
            """)
        var generation: Int64 = 0
        for try await (value, _) in rows.decode((Int64, String).self) { generation = value }
        taken.withLock { $0 = generation }
        return generation
    }

    /// The generation if a change or `generation()` took it already.
    var generationIfTaken: Int64? { taken.withLock { $0 } }

    // MARK: Reads inside the transaction

    /// Reads that see this transaction's changes; they take no locks.
    public var read: StoreReader { StoreReader(connection: connection, logger: logger) }

    // MARK: Changes

    /// Makes one configuration change and writes its audit row, in one statement that also takes the
    /// generation if this write has none yet. Returns the time the rows were stamped with.
    @discardableResult
    public func apply(_ change: ConfigChange) async throws -> Date {
        var statement = ChangeStatement(generation: generationIfTaken)
        statement.describe(change, by: context)
        var generation: Int64 = 0
        var stamp = Date()
        for try await (value, time, _) in try await query(statement.query).decode((Int64, Date, String).self) {
            (generation, stamp) = (value, time)
        }
        taken.withLock { $0 = generation }

        // A listener's routes are rows of their own, written after the listener row they refer to.
        let name = change.resource.name
        if change.resource.kind == .listener, let after = change.after, case .listener(let spec) = after {
            if change.before != nil { try await run("DELETE FROM listener_routes WHERE listener = \(name)") }
            for (position, route) in spec.routes.enumerated() {
                try await run(
                    """
                    INSERT INTO listener_routes (listener, position, host, path_prefix, pool)
                    VALUES (\(name), \(position), \(route.host), \(route.pathPrefix), \(route.pool))
                    """)
            }
        }
        return stamp
    }

    /// Makes `changes` in order, each with its audit row. Once the write holds its generation, runs of
    /// backend creations or deletions (a whole-configuration PUT or a rollback of 10,000 backends is
    /// mostly that) go as one statement per `batchLimit` rows, with arrays for the values: one
    /// statement per backend took 12–15 s for 10,000.
    public func apply(_ changes: [ConfigChange], batchLimit: Int = 2000) async throws {
        var index = changes.startIndex
        while index < changes.endIndex {
            if let generation = generationIfTaken, let kind = changes[index].backendBatchKind {
                var end = index + 1
                while end < changes.endIndex, end - index < batchLimit, changes[end].backendBatchKind == kind { end += 1 }
                if end - index > 1 {
                    switch kind {
                    case .create: try await createBackends(changes[index..<end], generation: generation)
                    case .delete: try await deleteBackends(changes[index..<end], generation: generation)
                    }
                    index = end
                    continue
                }
            }
            try await apply(changes[index])
            index += 1
        }
    }

    /// Backend creations and their audit rows, in one statement (the rows `apply` writes one by one).
    private func createBackends(_ changes: ArraySlice<ConfigChange>, generation: Int64) async throws {
        var pools: [String] = []
        var names: [String] = []
        var addresses: [String] = []
        var states: [String] = []
        var ports: [Int] = []
        var weights: [Int] = []
        var backups: [Bool] = []
        var resources: [String] = []
        var afters: [String] = []
        for change in changes {
            guard case .backend(let spec)? = change.after else { preconditionFailure("not a backend creation") }
            pools.append(change.resource.pool ?? "")
            names.append(change.resource.name)
            addresses.append(spec.address)
            ports.append(spec.port)
            weights.append(spec.weight)
            backups.append(spec.backup)
            states.append(spec.adminState.rawValue)
            resources.append(change.resource.description)
            afters.append(ResourceJSON.encode(ResourceState.backend(spec)))
        }
        try await run(
            """
            WITH c AS (
                INSERT INTO backends (pool, name, address, port, weight, backup, admin_state, version)
                SELECT pool, name, address, port, weight, backup, admin_state, \(generation)::bigint
                FROM unnest(\(pools)::text[], \(names)::text[], \(addresses)::text[], \(ports)::integer[], \(weights)::integer[],
                            \(backups)::boolean[], \(states)::text[]) AS t(pool, name, address, port, weight, backup, admin_state))
            INSERT INTO audit_log (generation, actor, request, action, resource_type, resource, before, after)
            SELECT \(generation)::bigint, \(context.actor), \(context.request), 'create', 'backend', resource, NULL, after::jsonb
            FROM unnest(\(resources)::text[], \(afters)::text[]) WITH ORDINALITY AS t(resource, after, position) ORDER BY position
            """)
    }

    /// Backend deletions and their audit rows, in one statement.
    private func deleteBackends(_ changes: ArraySlice<ConfigChange>, generation: Int64) async throws {
        var pools: [String] = []
        var names: [String] = []
        var resources: [String] = []
        var befores: [String] = []
        for change in changes {
            guard let before = change.before else { preconditionFailure("not a backend deletion") }
            pools.append(change.resource.pool ?? "")
            names.append(change.resource.name)
            resources.append(change.resource.description)
            befores.append(ResourceJSON.encode(before))
        }
        try await run(
            """
            WITH c AS (
                DELETE FROM backends b USING unnest(\(pools)::text[], \(names)::text[]) AS t(pool, name)
                WHERE b.pool = t.pool AND b.name = t.name)
            INSERT INTO audit_log (generation, actor, request, action, resource_type, resource, before, after)
            SELECT \(generation)::bigint, \(context.actor), \(context.request), 'delete', 'backend', resource, before::jsonb, NULL
            FROM unnest(\(resources)::text[], \(befores)::text[]) WITH ORDINALITY AS t(resource, before, position) ORDER BY position
            """)
    }

    /// Writes an audit row for this write's generation (for changes that are not configuration).
    public func audit(action: ChangeAction, kind: ResourceKind, resource: String, before: String?, after: String?) async throws {
        let generation = try await generation()
        try await run(
            """
            INSERT INTO audit_log (generation, actor, request, action, resource_type, resource, before, after)
            VALUES (\(generation), \(context.actor), \(context.request), \(action.rawValue), \(kind.rawValue), \(resource),
                    \(before)::jsonb, \(after)::jsonb)
            """)
    }

    /// Remembers this write's response under the token's `Idempotency-Key`. An expired key that was not
    /// purged yet is taken over (expired means forgotten); a live one, such as a concurrent twin's that
    /// committed first, fails the write as a unique violation, so that the caller replays the twin's answer.
    public func remember(idempotencyKey key: String, tokenID: UUID, _ response: IdempotentResponse) async throws {
        let rows = try await query(
            """
            INSERT INTO idempotency_keys (token_id, actor, key, request_hash, status, response)
            VALUES (\(tokenID), \(context.actor), \(key), \(response.requestHash), \(response.status), \(response.response)::jsonb)
            ON CONFLICT (token_id, key) DO UPDATE
                SET actor = excluded.actor, request_hash = excluded.request_hash, status = excluded.status,
                    response = excluded.response, created_at = now()
                WHERE idempotency_keys.created_at <= now() - interval '24 hours'
            RETURNING 1
            """)
        for try await _ in rows { return }
        throw StoreError.constraint(sqlState: "23505", detail: "Idempotency-Key '\(key)' is in use")
    }

    func run(_ query: PostgresQuery) async throws {
        _ = try await self.query(query)
    }

    func query(_ query: PostgresQuery) async throws -> PostgresRowSequence {
        do {
            return try await connection.query(query, logger: logger)
        } catch {
            throw StoreError.from(error)
        }
    }
}

/// How a write holds a pool row until it commits.
public enum PoolLock: Sendable {
    /// Adding rows that refer to the pool: it must not be deleted meanwhile (what a foreign key takes).
    case share
    /// Changing the pool's backends: one such write per pool at a time.
    case backends
    /// Changing or deleting the pool itself.
    case pool

    /// The locking clause, for a query whose pool row is `p`.
    var clause: StaticString {
        switch self {
        case .share: "FOR KEY SHARE OF p"
        case .backends: "FOR NO KEY UPDATE OF p"
        case .pool: "FOR UPDATE OF p"
        }
    }
}

/// The first stage of one write: the pool rows it depends on are locked here, before anything can
/// take the generation (see `WriteTransaction` for the order). `done()` ends the stage and is the
/// only way to the `WriteTransaction`; it consumes this value, so that, for example,
///
///     let transaction = locks.done()
///     _ = try await transaction.generation()
///     try await locks.lockAllPools()   // error: 'locks' used after consume
///
/// does not compile. A helper that locks for a write takes it `borrowing` (or `consuming`, and
/// returns the `WriteTransaction`). Reads (`read`) take no locks and are allowed in both stages.
public struct PoolLocks: ~Copyable, Sendable {
    /// Internal: the write's second stage is reached only through `done()`.
    let transaction: WriteTransaction

    init(_ transaction: WriteTransaction) {
        self.transaction = transaction
    }

    public var context: WriteContext { transaction.context }

    /// Reads that see this transaction's changes; they take no locks.
    public var read: StoreReader { transaction.read }

    /// Reads a pool and holds `lock` on its row until COMMIT.
    public func pool(_ name: String, locking lock: PoolLock) async throws -> PoolRecord? {
        try await read.pool(name, locking: lock)
    }

    /// Reads a pool's settings and one of its backends in one round trip, holding `lock` on the pool
    /// row until COMMIT. Nil when the pool does not exist.
    public func pool(_ pool: String, locking lock: PoolLock, backend name: String) async throws -> (spec: PoolSpec, backend: BackendRecord?)? {
        let rows = try await transaction.query(
            """
            SELECT p.settings::text, b.address, b.port, b.weight, b.backup, b.admin_state, b.version, b.created_at, b.updated_at
            FROM pools p LEFT JOIN backends b ON b.pool = p.name AND b.name = \(name) WHERE p.name = \(pool) \(sql: lock.clause)
            """)
        for try await (settings, address, port, weight, backup, state, version, created, updated) in rows.decode(
            (String, String?, Int?, Int?, Bool?, String?, Int64?, Date?, Date?).self)
        {
            let spec = try StoreReader.poolSettings.decode(settings)
            guard let address, let port, let weight, let backup, let state, let version, let created, let updated else { return (spec, nil) }
            guard let adminState = AdminState(rawValue: state) else { throw StoreError.corruptRow("backend \(pool)/\(name): \(state)") }
            let backend = BackendSpec(address: address, port: port, weight: weight, backup: backup, adminState: adminState)
            return (spec, BackendRecord(pool: pool, name: name, spec: backend, version: version, createdAt: created, updatedAt: updated))
        }
        return nil
    }

    /// Locks every pool row (for writes that may change any of them), in name order.
    public func lockAllPools() async throws {
        try await transaction.run("SELECT name FROM pools ORDER BY name FOR UPDATE")
    }

    /// Locks the named pools against deletion (for writes that will refer to them), in name order.
    public func sharePools(_ names: some Collection<String>) async throws {
        let names = Array(Set(names)).sorted()
        if names.isEmpty { return }
        try await transaction.run("SELECT name FROM pools WHERE name = ANY(\(names)) ORDER BY name FOR KEY SHARE")
    }

    /// The pool rows this write needs are locked: from here on it may take the generation.
    public consuming func done() -> WriteTransaction {
        transaction
    }
}

/// The runs of changes `WriteTransaction.apply(_:batchLimit:)` writes as one statement.
private enum BackendBatchKind {
    case create, delete
}

extension ConfigChange {
    /// What a whole-configuration write batches: backends created, or deleted.
    fileprivate var backendBatchKind: BackendBatchKind? {
        guard resource.kind == .backend else { return nil }
        switch (before, after) {
        case (nil, .backend?): return .create
        case (.backend?, nil): return .delete
        default: return nil
        }
    }
}
