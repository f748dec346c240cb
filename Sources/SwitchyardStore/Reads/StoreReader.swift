import Foundation
import Logging
import PostgresNIO
import SwitchyardCore

/// The reads of configuration rows on one connection: the one set of reads, used by `Store.read` and
/// inside a write (`WriteTransaction.read`, where they see the transaction's own changes). Reads take
/// no locks; the locking reads belong to the write's first stage (`WriteTransaction`).
public struct StoreReader: Sendable {
    let connection: PostgresConnection
    let logger: Logger

    static let poolSettings = DecodedSettingsCache<PoolSpec>()
    private static let listenerSettings = DecodedSettingsCache<ListenerSettings>()

    /// A pool row's columns and its backend count; the rest of a pool query follows (`p` is the pool row).
    private static let poolSelect: StaticString = """
        SELECT p.name, p.settings::text, p.version, p.created_at, p.updated_at,
               (SELECT count(*) FROM backends b WHERE b.pool = p.name)
        FROM pools p
        """

    public func pool(_ name: String) async throws -> PoolRecord? {
        try await pools(query: "\(sql: Self.poolSelect) WHERE p.name = \(name)").first
    }

    /// Reads a pool and holds `lock` on its row until the transaction ends (for `WriteTransaction`).
    func pool(_ name: String, locking lock: PoolLock) async throws -> PoolRecord? {
        try await pools(query: "\(sql: Self.poolSelect) WHERE p.name = \(name) \(sql: lock.clause)").first
    }

    /// Pools in name order, after `cursor`, at most `limit`.
    public func pools(after cursor: String? = nil, limit: Int = Int(Int32.max)) async throws -> [PoolRecord] {
        let limit = min(limit, Int(Int32.max))
        return try await pools(
            query: "\(sql: Self.poolSelect) WHERE (\(cursor)::text IS NULL OR p.name > \(cursor)) ORDER BY p.name LIMIT \(limit)")
    }

    private func pools(query: PostgresQuery) async throws -> [PoolRecord] {
        let rows = try await connection.query(query, logger: logger)
        var records: [PoolRecord] = []
        for try await (name, settings, version, created, updated, count) in rows.decode((String, String, Int64, Date, Date, Int64).self) {
            let spec = try Self.poolSettings.decode(settings)
            records.append(
                PoolRecord(name: name, spec: spec, backendCount: Int(count), version: version, createdAt: created, updatedAt: updated))
        }
        return records
    }

    public func backend(_ name: String, in pool: String) async throws -> BackendRecord? {
        try await backendColumns(of: .one(pool: pool, name: name)).first
    }

    /// A pool's backends in name order, after `cursor`, at most `limit`.
    public func backends(in pool: String, after cursor: String? = nil, limit: Int = Int(Int32.max)) async throws -> [BackendRecord] {
        try await backendColumns(of: .page(pool: pool, after: cursor, limit: limit))
    }

    /// `backends(in:after:limit:)` handed over in batches as they arrive, in order.
    func backends(in pool: String, after cursor: String?, limit: Int, batches: ([BackendRecord]) throws -> Void) async throws {
        try await backendColumns(of: .page(pool: pool, after: cursor, limit: limit), batches: batches)
    }

    /// Every backend, by pool and name.
    public func allBackends() async throws -> [BackendRecord] {
        try await backendColumns(of: .all)
    }

    /// The backends a read selects.
    enum BackendSelection {
        case one(pool: String, name: String)
        /// A pool's backends in name order, after `after`, at most `limit`.
        case page(pool: String, after: String?, limit: Int)
        /// Every backend, by pool and name.
        case all

        /// The selection's whole `backends` rows, numbered in order and gathered `backendBatchSize` at a
        /// time into one row of column arrays each (`batched`). One constant text per selection, values bound.
        var query: PostgresQuery {
            switch self {
            case .one(let pool, let name):
                return "WITH selection AS (SELECT * FROM backends WHERE pool = \(pool) AND name = \(name)) \(sql: Self.batchedByName)"
            case .page(let pool, let cursor, let limit):
                let limit = min(limit, Int(Int32.max))
                return """
                    WITH selection AS (
                        SELECT * FROM backends WHERE pool = \(pool) AND (\(cursor)::text IS NULL OR name > \(cursor)) ORDER BY name LIMIT \(limit))
                    \(sql: Self.batchedByName)
                    """
            case .all:
                return "WITH selection AS (SELECT * FROM backends) \(sql: Self.batchedByPoolAndName)"
            }
        }

        // An aggregate keeps its sorted input's order in every plan PostgreSQL makes for this, but SQL
        // does not promise it: each row's position comes along and is checked (batches themselves
        // come in the order asked for). 1000 is `backendBatchSize`.
        private static let batchedByName: StaticString = """
            SELECT array_agg(pool), array_agg(name), array_agg(address), array_agg(port), array_agg(weight), array_agg(backup),
                   array_agg(admin_state), array_agg(version), array_agg(created_at), array_agg(updated_at), array_agg(position)
            FROM (SELECT *, row_number() OVER (ORDER BY name) AS position FROM selection) AS numbered
            GROUP BY (position - 1) / 1000 ORDER BY (position - 1) / 1000
            """
        private static let batchedByPoolAndName: StaticString = """
            SELECT array_agg(pool), array_agg(name), array_agg(address), array_agg(port), array_agg(weight), array_agg(backup),
                   array_agg(admin_state), array_agg(version), array_agg(created_at), array_agg(updated_at), array_agg(position)
            FROM (SELECT *, row_number() OVER (ORDER BY pool, name) AS position FROM selection) AS numbered
            GROUP BY (position - 1) / 1000 ORDER BY (position - 1) / 1000
            """
    }

    private func backendColumns(of selection: BackendSelection) async throws -> [BackendRecord] {
        var records: [BackendRecord] = []
        try await backendColumns(of: selection) { batch in
            records.append(contentsOf: batch)
        }
        return records
    }

    /// Backends in a batch: as many rows go into one row of column arrays (the SQL texts of
    /// `BackendSelection` say 1000).
    static let backendBatchSize = 1000

    /// Reads the backends of `selection` in batches of `backendBatchSize`, each one row of column
    /// arrays, and hands them over in order as they arrive. A row per backend cost the driver a
    /// message, a row and ten cells each (for a list of 10,000, half of its time); batches let the
    /// caller work on one while PostgreSQL sends the next.
    private func backendColumns(of selection: BackendSelection, batches: ([BackendRecord]) throws -> Void) async throws {
        let rows = try await connection.query(selection.query, logger: logger)
        for try await columns in rows.decode(
            (ByteBuffer, ByteBuffer, ByteBuffer, ByteBuffer, ByteBuffer, ByteBuffer, ByteBuffer, ByteBuffer, ByteBuffer, ByteBuffer, ByteBuffer)
                .self)
        {
            let pool = try BinaryArrayColumn(columns.0, column: "pool").strings()
            let name = try BinaryArrayColumn(columns.1, column: "name").strings()
            let address = try BinaryArrayColumn(columns.2, column: "address").strings()
            let port = try BinaryArrayColumn(columns.3, column: "port").integers()
            let weight = try BinaryArrayColumn(columns.4, column: "weight").integers()
            let backup = try BinaryArrayColumn(columns.5, column: "backup").booleans()
            let state = try BinaryArrayColumn(columns.6, column: "admin_state").strings()
            let version = try BinaryArrayColumn(columns.7, column: "version").integers()
            let createdAt = try BinaryArrayColumn(columns.8, column: "created_at").dates()
            let updatedAt = try BinaryArrayColumn(columns.9, column: "updated_at").dates()
            let positions = try BinaryArrayColumn(columns.10, column: "position").integers()
            let count = name.count
            let lengths = [
                pool.count, address.count, port.count, weight.count, backup.count, state.count, version.count, createdAt.count,
                updatedAt.count, positions.count,
            ]
            guard lengths.allSatisfy({ $0 == count }) else { throw StoreError.corruptRow("backend columns of unequal lengths") }
            var batch: [BackendRecord] = []
            batch.reserveCapacity(count)
            for index in 0..<count {
                guard let adminState = AdminState(rawValue: state[index]) else {
                    throw StoreError.corruptRow("backend \(pool[index])/\(name[index]): \(state[index])")
                }
                let spec = BackendSpec(
                    address: address[index], port: port[index], weight: weight[index], backup: backup[index], adminState: adminState)
                batch.append(
                    BackendRecord(
                        pool: pool[index], name: name[index], spec: spec, version: Int64(version[index]), createdAt: createdAt[index],
                        updatedAt: updatedAt[index]))
            }
            if zip(positions, positions.dropFirst()).allSatisfy({ $0 < $1 }) {
                try batches(batch)
            } else {
                try batches(zip(positions, batch).sorted { $0.0 < $1.0 }.map(\.1))
            }
        }
    }

    public func listener(_ name: String) async throws -> ListenerRecord? {
        try await listeners(filter: name, after: nil, limit: 1).first
    }

    /// Listeners in name order, after `cursor`, at most `limit`.
    public func listeners(after cursor: String? = nil, limit: Int = Int(Int32.max)) async throws -> [ListenerRecord] {
        try await listeners(filter: nil, after: cursor, limit: limit)
    }

    private func listeners(filter: String?, after cursor: String?, limit: Int) async throws -> [ListenerRecord] {
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
            let settings = try Self.listenerSettings.decode(settingsText)
            guard let listenerProtocol = ListenerProtocol(rawValue: proto) else { throw StoreError.corruptRow("listener \(name): \(proto)") }
            let spec = ListenerSpec(
                bind: bind, port: port, protocol: listenerProtocol, defaultPool: defaultPool, routes: [], tls: settings.tls,
                allow: settings.allow, deny: settings.deny, trustedProxies: settings.trustedProxies ?? [],
                maxConnections: settings.maxConnections, timeouts: settings.timeouts ?? ListenerTimeouts(),
                rateLimit: settings.rateLimit, redirectHttps: settings.redirectHttps ?? false, hstsMaxAgeS: settings.hstsMaxAgeS)
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

    public func certificate(_ name: String) async throws -> CertificateRecord? {
        try await certificates(filter: name, after: nil, limit: 1).first
    }

    /// Certificates in name order, after `cursor`, at most `limit`.
    public func certificates(after cursor: String? = nil, limit: Int = Int(Int32.max)) async throws -> [CertificateRecord] {
        try await certificates(filter: nil, after: cursor, limit: limit)
    }

    private func certificates(filter: String?, after cursor: String?, limit: Int) async throws -> [CertificateRecord] {
        let limit = min(limit, Int(Int32.max))
        let rows = try await connection.query(
            """
            SELECT name, settings::text, version, created_at, updated_at FROM certificates
            WHERE (\(filter)::text IS NULL OR name = \(filter)) AND (\(cursor)::text IS NULL OR name > \(cursor))
            ORDER BY name LIMIT \(limit)
            """, logger: logger)
        var records: [CertificateRecord] = []
        for try await (name, settings, version, created, updated) in rows.decode((String, String, Int64, Date, Date).self) {
            let spec = try ResourceJSON.decode(CertificateSpec.self, from: settings)
            records.append(CertificateRecord(name: name, spec: spec, version: version, createdAt: created, updatedAt: updated))
        }
        return records
    }

    /// The whole configuration (its generation is `Store.document()`'s).
    public func document() async throws -> ConfigDocument {
        var document = ConfigDocument()
        for pool in try await pools() {
            document.pools[pool.name] = PoolEntry(spec: pool.spec)
        }
        for backend in try await allBackends() {
            document.pools[backend.pool]?.backends[backend.name] = backend.spec
        }
        for listener in try await listeners() {
            document.listeners[listener.name] = listener.spec
        }
        for certificate in try await certificates() {
            document.certificates[certificate.name] = certificate.spec
        }
        return document
    }
}

extension PostgresQuery.StringInterpolation {
    /// SQL text fixed at compile time, spliced as it is. Only a `StaticString` is taken, so that no
    /// text made at run time (a value, a name) ever becomes SQL: values are bound (`\(value)`).
    mutating func appendInterpolation(sql text: StaticString) {
        appendLiteral(text.description)
    }
}
