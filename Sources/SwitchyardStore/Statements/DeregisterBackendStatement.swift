import PostgresNIO

/// `Store.deregister` as a prepared statement (parsed and planned once per connection).
///
/// One statement that is its own transaction, in the lock order of `WriteTransaction`: the pool row
/// (so that changes to the pool's backends stay one at a time), then the backend row (a row lock
/// reads the latest committed version, so the audit row's `before` is current even after waiting),
/// then the generation. Unless `unguarded`, a pool with a `min_healthy_percent` is left alone.
/// Answers whether the pool and the backend exist, and the generation when it deregistered.
struct DeregisterBackendStatement: PostgresPreparedStatement {
    typealias Row = (poolExists: Bool, backendExists: Bool, generation: Int64?)

    static let sql = """
        WITH p AS (SELECT name, COALESCE((settings->>'min_healthy_percent')::int, 0) AS min_healthy
                   FROM pools WHERE name = $1 FOR NO KEY UPDATE),
        b AS (SELECT pool, name, address, port, weight, backup, admin_state FROM backends
              WHERE pool = (SELECT name FROM p) AND name = $2 FOR UPDATE),
        ok AS (SELECT b.* FROM b WHERE $3 OR (SELECT min_healthy FROM p) = 0),
        g AS (UPDATE config_state SET generation = generation + 1 WHERE EXISTS (SELECT 1 FROM ok) RETURNING generation),
        c AS (DELETE FROM backends d USING ok, g WHERE d.pool = ok.pool AND d.name = ok.name),
        a AS (INSERT INTO audit_log (generation, actor, request, action, resource_type, resource, before, after)
              SELECT g.generation, $4, $5, 'delete', 'backend', $1 || '/' || $2,
                     jsonb_build_object('address', ok.address, 'admin_state', ok.admin_state, 'backup', ok.backup,
                                        'port', ok.port, 'weight', ok.weight), NULL
              FROM g, ok)
        SELECT EXISTS (SELECT 1 FROM p), EXISTS (SELECT 1 FROM b), (SELECT generation FROM g),
               (SELECT pg_notify('\(Store.changeChannel)', generation::text)::text FROM g)
        """

    static let bindingDataTypes: [PostgresDataType] = [.text, .text, .bool, .text, .text]

    var pool: String
    var name: String
    var unguarded: Bool
    var context: WriteContext

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 5)
        bindings.append(pool)
        bindings.append(name)
        bindings.append(unguarded)
        bindings.append(context.actor)
        bindings.append(context.request)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row {
        let (poolExists, backendExists, generation, _) = try row.decode((Bool, Bool, Int64?, String?).self)
        return (poolExists, backendExists, generation)
    }
}
