import Foundation
import Logging
import PostgresNIO
import SwitchyardCore

/// The inside of one write: reads see the transaction, changes are applied with their audit rows,
/// all stamped with this write's generation.
public struct WriteTransaction: Sendable {
    let connection: PostgresConnection
    public let generation: Int64
    public let context: WriteContext
    let logger: Logger

    // MARK: Reads inside the transaction

    public func pool(_ name: String) async throws -> PoolRecord? {
        try await StoreQueries.pool(name, on: connection, logger: logger)
    }

    public func backends(in pool: String) async throws -> [BackendRecord] {
        try await StoreQueries.backends(in: pool, after: nil, limit: Int.max, on: connection, logger: logger)
    }

    public func backend(_ name: String, in pool: String) async throws -> BackendRecord? {
        try await StoreQueries.backend(name, in: pool, on: connection, logger: logger)
    }

    public func listener(_ name: String) async throws -> ListenerRecord? {
        try await StoreQueries.listener(name, on: connection, logger: logger)
    }

    public func listeners() async throws -> [ListenerRecord] {
        try await StoreQueries.listeners(after: nil, limit: Int.max, on: connection, logger: logger)
    }

    /// Listeners that send traffic to `pool`.
    public func listenerNames(using pool: String) async throws -> [String] {
        let rows = try await connection.query(
            """
            SELECT name FROM listeners WHERE default_pool = \(pool)
            UNION SELECT listener FROM listener_routes WHERE pool = \(pool) ORDER BY 1
            """, logger: logger)
        var names: [String] = []
        for try await name in rows.decode(String.self) { names.append(name) }
        return names
    }

    public func document() async throws -> ConfigDocument {
        try await StoreQueries.document(on: connection, logger: logger)
    }

    // MARK: Changes

    /// Makes one configuration change and writes its audit row.
    public func apply(_ change: ConfigChange) async throws {
        let version = generation
        switch (change.resource.kind, change.after) {
        case (.pool, .pool(let spec)?):
            let settings = ResourceJSON.encode(spec)
            let proto = spec.protocol.rawValue
            if change.before == nil {
                try await run(
                    "INSERT INTO pools (name, protocol, settings, version) VALUES (\(change.resource.name), \(proto), \(settings)::jsonb, \(version))"
                )
            } else {
                try await run(
                    "UPDATE pools SET protocol = \(proto), settings = \(settings)::jsonb, version = \(version), updated_at = now() WHERE name = \(change.resource.name)"
                )
            }
        case (.pool, nil):
            try await run("DELETE FROM pools WHERE name = \(change.resource.name)")
        case (.backend, .backend(let spec)?):
            let pool = change.resource.pool ?? ""
            let state = spec.adminState.rawValue
            if change.before == nil {
                try await run(
                    """
                    INSERT INTO backends (pool, name, address, port, weight, backup, admin_state, version)
                    VALUES (\(pool), \(change.resource.name), \(spec.address), \(spec.port), \(spec.weight), \(spec.backup), \(state), \(version))
                    """)
            } else {
                try await run(
                    """
                    UPDATE backends SET address = \(spec.address), port = \(spec.port), weight = \(spec.weight), backup = \(spec.backup),
                    admin_state = \(state), version = \(version), updated_at = now() WHERE pool = \(pool) AND name = \(change.resource.name)
                    """)
            }
        case (.backend, nil):
            try await run("DELETE FROM backends WHERE pool = \(change.resource.pool ?? "") AND name = \(change.resource.name)")
        case (.listener, .listener(let spec)?):
            let name = change.resource.name
            let settings = ResourceJSON.encode(ListenerSettings(tls: spec.tls, allow: spec.allow, deny: spec.deny))
            let proto = spec.protocol.rawValue
            if change.before == nil {
                try await run(
                    """
                    INSERT INTO listeners (name, bind, port, protocol, default_pool, settings, version)
                    VALUES (\(name), \(spec.bind), \(spec.port), \(proto), \(spec.defaultPool), \(settings)::jsonb, \(version))
                    """)
            } else {
                try await run(
                    """
                    UPDATE listeners SET bind = \(spec.bind), port = \(spec.port), protocol = \(proto), default_pool = \(spec.defaultPool),
                    settings = \(settings)::jsonb, version = \(version), updated_at = now() WHERE name = \(name)
                    """)
                try await run("DELETE FROM listener_routes WHERE listener = \(name)")
            }
            for (position, route) in spec.routes.enumerated() {
                try await run(
                    """
                    INSERT INTO listener_routes (listener, position, host, path_prefix, pool)
                    VALUES (\(name), \(position), \(route.host), \(route.pathPrefix), \(route.pool))
                    """)
            }
        case (.listener, nil):
            try await run("DELETE FROM listeners WHERE name = \(change.resource.name)")
        default:
            preconditionFailure("a \(change.resource.kind) change cannot carry \(String(describing: change.after))")
        }
        try await audit(
            action: change.action, kind: change.resource.kind, resource: change.resource.description,
            before: change.before.map(ResourceJSON.encode), after: change.after.map(ResourceJSON.encode))
    }

    /// Writes an audit row for this write's generation.
    public func audit(action: ChangeAction, kind: ResourceKind, resource: String, before: String?, after: String?) async throws {
        try await run(
            """
            INSERT INTO audit_log (generation, actor, request, action, resource_type, resource, before, after)
            VALUES (\(generation), \(context.actor), \(context.request), \(action.rawValue), \(kind.rawValue), \(resource),
                    \(before)::jsonb, \(after)::jsonb)
            """)
    }

    /// Remembers this write's response under its `Idempotency-Key`; a concurrent twin fails on the key.
    public func remember(idempotencyKey key: String, _ response: IdempotentResponse) async throws {
        try await run(
            """
            INSERT INTO idempotency_keys (actor, key, request_hash, status, response)
            VALUES (\(context.actor), \(key), \(response.requestHash), \(response.status), \(response.response)::jsonb)
            """)
    }

    func run(_ query: PostgresQuery) async throws {
        do {
            try await connection.query(query, logger: logger)
        } catch {
            throw StoreError.from(error)
        }
    }
}
