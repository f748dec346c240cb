import Foundation
import Logging
import PostgresNIO
import SwitchyardCore

/// The reads of configuration rows, shared by plain reads and reads inside a write transaction.
enum StoreQueries {
    static let poolSettings = DecodedSettingsCache<PoolSpec>()
    private static let listenerSettings = DecodedSettingsCache<ListenerSettings>()

    static func pool(_ name: String, on connection: PostgresConnection, logger: Logger) async throws -> PoolRecord? {
        try await pools(query: try poolSelect(where: "p.name = $1", binds: [name]), on: connection, logger: logger).first
    }

    /// Reads a pool and locks its row (`lock` is a locking clause such as `FOR UPDATE OF p`).
    static func pool(_ name: String, locking lock: String, on connection: PostgresConnection, logger: Logger) async throws -> PoolRecord? {
        try await pools(query: try poolSelect(where: "p.name = $1 \(lock)", binds: [name]), on: connection, logger: logger).first
    }

    static func pools(after cursor: String?, limit: Int, on connection: PostgresConnection, logger: Logger) async throws -> [PoolRecord] {
        try await pools(
            query: try poolSelect(where: "($1::text IS NULL OR p.name > $1) ORDER BY p.name LIMIT $2", binds: [cursor, limit]),
            on: connection, logger: logger)
    }

    private static func poolSelect(where clause: String, binds values: [(any PostgresEncodable & Sendable)?]) throws -> PostgresQuery {
        var binds = PostgresBindings()
        for value in values {
            if let value { try binds.append(value) } else { binds.appendNull() }
        }
        return PostgresQuery(
            unsafeSQL: """
                SELECT p.name, p.settings::text, p.version, p.created_at, p.updated_at,
                       (SELECT count(*) FROM backends b WHERE b.pool = p.name)
                FROM pools p WHERE \(clause)
                """, binds: binds)
    }

    private static func pools(query: PostgresQuery, on connection: PostgresConnection, logger: Logger) async throws -> [PoolRecord] {
        let rows = try await connection.query(query, logger: logger)
        var records: [PoolRecord] = []
        for try await (name, settings, version, created, updated, count) in rows.decode((String, String, Int64, Date, Date, Int64).self) {
            let spec = try poolSettings.decode(settings)
            records.append(
                PoolRecord(name: name, spec: spec, backendCount: Int(count), version: version, createdAt: created, updatedAt: updated))
        }
        return records
    }

    static func backend(_ name: String, in pool: String, on connection: PostgresConnection, logger: Logger) async throws -> BackendRecord? {
        let rows = try await connection.query(
            """
            SELECT pool, name, address, port, weight, backup, admin_state, version, created_at, updated_at
            FROM backends WHERE pool = \(pool) AND name = \(name)
            """, logger: logger)
        return try await decodeBackends(rows).first
    }

    static func backends(in pool: String, after cursor: String?, limit: Int, on connection: PostgresConnection, logger: Logger)
        async throws -> [BackendRecord]
    {
        let limit = min(limit, Int(Int32.max))
        let rows = try await connection.query(
            """
            SELECT pool, name, address, port, weight, backup, admin_state, version, created_at, updated_at
            FROM backends WHERE pool = \(pool) AND (\(cursor)::text IS NULL OR name > \(cursor)) ORDER BY name LIMIT \(limit)
            """, logger: logger)
        return try await decodeBackends(rows)
    }

    static func allBackends(on connection: PostgresConnection, logger: Logger) async throws -> [BackendRecord] {
        let rows = try await connection.query(
            """
            SELECT pool, name, address, port, weight, backup, admin_state, version, created_at, updated_at
            FROM backends ORDER BY pool, name
            """, logger: logger)
        return try await decodeBackends(rows)
    }

    private static func decodeBackends(_ rows: PostgresRowSequence) async throws -> [BackendRecord] {
        var records: [BackendRecord] = []
        for try await row in rows { records.append(try decodeBackend(row)) }
        return records
    }

    /// Cell by cell: decoding a 10-tuple goes through generic metadata per row (a quarter of a
    /// 10,000-backend list's time).
    private static func decodeBackend(_ row: PostgresRow) throws -> BackendRecord {
        var cells = row.makeIterator()
        let pool = try cells.decodeNext(String.self)
        let name = try cells.decodeNext(String.self)
        let address = try cells.decodeNext(String.self)
        let port = try cells.decodeNext(Int.self)
        let weight = try cells.decodeNext(Int.self)
        let backup = try cells.decodeNext(Bool.self)
        let state = try cells.decodeNext(String.self)
        let version = try cells.decodeNext(Int64.self)
        let created = try cells.decodeNext(Date.self)
        let updated = try cells.decodeNext(Date.self)
        guard let adminState = AdminState(rawValue: state) else { throw StoreError.corruptRow("backend \(pool)/\(name): \(state)") }
        let spec = BackendSpec(address: address, port: port, weight: weight, backup: backup, adminState: adminState)
        return BackendRecord(pool: pool, name: name, spec: spec, version: version, createdAt: created, updatedAt: updated)
    }

    static func listener(_ name: String, on connection: PostgresConnection, logger: Logger) async throws -> ListenerRecord? {
        try await listeners(filter: name, after: nil, limit: 1, on: connection, logger: logger).first
    }

    static func listeners(after cursor: String?, limit: Int, on connection: PostgresConnection, logger: Logger) async throws -> [ListenerRecord] {
        try await listeners(filter: nil, after: cursor, limit: limit, on: connection, logger: logger)
    }

    private static func listeners(filter: String?, after cursor: String?, limit: Int, on connection: PostgresConnection, logger: Logger)
        async throws -> [ListenerRecord]
    {
        let limit = min(limit, Int(Int32.max))
        let rows = try await connection.query(
            """
            SELECT name, bind, port, protocol, default_pool, settings::text, version, created_at, updated_at FROM listeners
            WHERE (\(filter)::text IS NULL OR name = \(filter)) AND (\(cursor)::text IS NULL OR name > \(cursor))
            ORDER BY name LIMIT \(limit)
            """, logger: logger)
        var records: [ListenerRecord] = []
        for try await (name, bind, port, proto, defaultPool, settingsText, version, created, updated) in rows.decode(
            (String, String, Int, String, String?, String, Int64, Date, Date).self)
        {
            let settings = try listenerSettings.decode(settingsText)
            guard let listenerProtocol = ListenerProtocol(rawValue: proto) else { throw StoreError.corruptRow("listener \(name): \(proto)") }
            let spec = ListenerSpec(
                bind: bind, port: port, protocol: listenerProtocol, defaultPool: defaultPool, routes: [], tls: settings.tls,
                allow: settings.allow, deny: settings.deny)
            records.append(ListenerRecord(name: name, spec: spec, version: version, createdAt: created, updatedAt: updated))
        }
        guard !records.isEmpty else { return records }
        let names = records.map(\.name)
        let routeRows = try await connection.query(
            "SELECT listener, host, path_prefix, pool FROM listener_routes WHERE listener = ANY(\(names)) ORDER BY listener, position",
            logger: logger)
        var routes: [String: [RouteSpec]] = [:]
        for try await (listener, host, prefix, pool) in routeRows.decode((String, String?, String?, String).self) {
            routes[listener, default: []].append(RouteSpec(host: host, pathPrefix: prefix, pool: pool))
        }
        for index in records.indices { records[index].spec.routes = routes[records[index].name] ?? [] }
        return records
    }

    static func document(on connection: PostgresConnection, logger: Logger) async throws -> ConfigDocument {
        var document = ConfigDocument()
        for pool in try await pools(after: nil, limit: Int(Int32.max), on: connection, logger: logger) {
            document.pools[pool.name] = PoolEntry(spec: pool.spec)
        }
        for backend in try await allBackends(on: connection, logger: logger) {
            document.pools[backend.pool]?.backends[backend.name] = backend.spec
        }
        for listener in try await listeners(after: nil, limit: Int(Int32.max), on: connection, logger: logger) {
            document.listeners[listener.name] = listener.spec
        }
        return document
    }
}

extension PostgresRow.Iterator {
    /// The next column's value.
    mutating func decodeNext<T: PostgresDecodable>(_ type: T.Type) throws -> T {
        guard let cell = next() else { throw StoreError.corruptRow("a row has fewer columns than its query selects") }
        return try cell.decode(T.self, context: .default)
    }
}
