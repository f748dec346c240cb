import Foundation
import PostgresNIO
import SwitchyardCore

/// `Store.register` as a prepared statement: PostgreSQL parses and plans it once per connection
/// instead of on every registration (parse and plan were ~40 % of PostgreSQL's time per write).
///
/// One statement that is its own transaction, in the lock order of `WriteTransaction`: the pool
/// row (KEY SHARE), then the generation (bump and NOTIFY), the backend row and its audit row. A
/// missing pool changes nothing and answers no row; a taken name fails on the primary key (23505).
/// The audit row's `after` is built here with the keys and values of `ResourceJSON.encode(spec)`.
struct RegisterBackendStatement: PostgresPreparedStatement {
    typealias Row = (Int64, Date)

    static let sql = """
        WITH p AS (SELECT name FROM pools WHERE name = $1 FOR KEY SHARE),
        g AS (UPDATE config_state SET generation = generation + 1 WHERE EXISTS (SELECT 1 FROM p) RETURNING generation),
        c AS (INSERT INTO backends (pool, name, address, port, weight, backup, admin_state, version)
              SELECT $1, $2, $3, $4, $5, $6, $7, generation FROM g),
        a AS (INSERT INTO audit_log (generation, actor, request, action, resource_type, resource, before, after)
              SELECT generation, $8, $9, 'create', 'backend', $1 || '/' || $2, NULL,
                     jsonb_build_object('address', $3, 'admin_state', $7, 'backup', $6, 'port', $4, 'weight', $5)
              FROM g)
        SELECT generation, now(), pg_notify('\(Store.changeChannel)', generation::text)::text FROM g
        """

    static let bindingDataTypes: [PostgresDataType] = [.text, .text, .text, .int4, .int4, .bool, .text, .text, .text]

    var pool: String
    var name: String
    var spec: BackendSpec
    var context: WriteContext

    /// Port and weight are validated (1–65535, 0–1000) before; clamping leaves the rest to the CHECKs.
    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 9)
        bindings.append(pool)
        bindings.append(name)
        bindings.append(spec.address)
        bindings.append(Int32(clamping: spec.port))
        bindings.append(Int32(clamping: spec.weight))
        bindings.append(spec.backup)
        bindings.append(spec.adminState.rawValue)
        bindings.append(context.actor)
        bindings.append(context.request)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row {
        let (generation, stamp, _) = try row.decode((Int64, Date, String).self)
        return (generation, stamp)
    }
}
