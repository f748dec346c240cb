import Foundation
import PostgresNIO
import SwitchyardCore

/// One configuration change as a single statement: the row change and its audit row, stamped with the
/// write's generation, which the statement also takes (bump, lock and NOTIFY) when the write has none
/// yet. One round trip under the generation lock instead of three.
///
/// The change refers to the generation as `(SELECT generation FROM g)`, or selects from `g`.
struct ChangeStatement {
    private var text = PostgresQuery.StringInterpolation(literalCapacity: 1024, interpolationCount: 16)
    private let bumps: Bool

    /// `generation` is the write's, if it has taken one.
    init(generation: Int64?) {
        bumps = generation == nil
        if let generation {
            text.appendLiteral("WITH g AS (SELECT ")
            text.appendInterpolation(generation)
            text.appendLiteral("::bigint AS generation), ")
        } else {
            text.appendLiteral("WITH g AS (UPDATE config_state SET generation = generation + 1 RETURNING generation), ")
        }
    }

    /// The row change and audit row of `change`.
    mutating func describe(_ change: ConfigChange, by context: WriteContext) {
        let name = change.resource.name
        switch (change.resource.kind, change.after) {
        case (.pool, .pool(let spec)?):
            let settings = ResourceJSON.encode(spec)
            if change.before == nil {
                rowChange(
                    """
                    INSERT INTO pools (name, protocol, settings, version)
                    VALUES (\(name), \(spec.protocol.rawValue), \(settings)::jsonb, (SELECT generation FROM g))
                    """)
            } else {
                rowChange(
                    """
                    UPDATE pools SET protocol = \(spec.protocol.rawValue), settings = \(settings)::jsonb,
                    version = (SELECT generation FROM g), updated_at = now() WHERE name = \(name)
                    """)
            }
        case (.pool, nil):
            rowChange("DELETE FROM pools WHERE name = \(name)")
        case (.backend, .backend(let spec)?):
            let pool = change.resource.pool ?? ""
            if change.before == nil {
                rowChange(
                    """
                    INSERT INTO backends (pool, name, address, port, weight, backup, admin_state, version)
                    SELECT \(pool), \(name), \(spec.address), \(spec.port), \(spec.weight), \(spec.backup), \(spec.adminState.rawValue),
                           generation FROM g
                    """)
            } else {
                rowChange(
                    """
                    UPDATE backends SET address = \(spec.address), port = \(spec.port), weight = \(spec.weight), backup = \(spec.backup),
                    admin_state = \(spec.adminState.rawValue), version = (SELECT generation FROM g), updated_at = now()
                    WHERE pool = \(pool) AND name = \(name)
                    """)
            }
        case (.backend, nil):
            rowChange("DELETE FROM backends WHERE pool = \(change.resource.pool ?? "") AND name = \(name)")
        case (.listener, .listener(let spec)?):
            let settings = ResourceJSON.encode(ListenerSettings(
                    tls: spec.tls, allow: spec.allow, deny: spec.deny, trustedProxies: spec.trustedProxies, maxConnections: spec.maxConnections,
                    timeouts: spec.timeouts, rateLimit: spec.rateLimit, redirectHttps: spec.redirectHttps ? true : nil,
                    hstsMaxAgeS: spec.hstsMaxAgeS))
            if change.before == nil {
                rowChange(
                    """
                    INSERT INTO listeners (name, bind, port, protocol, default_pool, settings, version)
                    VALUES (\(name), \(spec.bind), \(spec.port), \(spec.protocol.rawValue), \(spec.defaultPool), \(settings)::jsonb,
                            (SELECT generation FROM g))
                    """)
            } else {
                rowChange(
                    """
                    UPDATE listeners SET bind = \(spec.bind), port = \(spec.port), protocol = \(spec.protocol.rawValue),
                    default_pool = \(spec.defaultPool), settings = \(settings)::jsonb, version = (SELECT generation FROM g),
                    updated_at = now() WHERE name = \(name)
                    """)
            }
        case (.listener, nil):
            rowChange("DELETE FROM listeners WHERE name = \(name)")
        case (.certificate, .certificate(let spec)?):
            let settings = ResourceJSON.encode(spec)
            if change.before == nil {
                rowChange(
                    """
                    INSERT INTO certificates (name, settings, version)
                    VALUES (\(name), \(settings)::jsonb, (SELECT generation FROM g))
                    """)
            } else {
                rowChange(
                    """
                    UPDATE certificates SET settings = \(settings)::jsonb, version = (SELECT generation FROM g), updated_at = now()
                    WHERE name = \(name)
                    """)
            }
        case (.certificate, nil):
            rowChange("DELETE FROM certificates WHERE name = \(name)")
        default:
            preconditionFailure("a \(change.resource.kind) change cannot carry \(String(describing: change.after))")
        }
        audit(
            context, action: change.action, kind: change.resource.kind, resource: change.resource.description,
            before: change.before.map(ResourceJSON.encode), after: change.after.map(ResourceJSON.encode))
    }

    /// The row change (an INSERT, UPDATE or DELETE).
    private mutating func rowChange(_ fragment: SQLFragment) {
        text.appendLiteral("c AS (")
        fragment.append(to: &text)
        text.appendLiteral("), ")
    }

    private mutating func audit(_ context: WriteContext, action: ChangeAction, kind: ResourceKind, resource: String, before: String?, after: String?)
    {
        let fragment: SQLFragment = """
            a AS (INSERT INTO audit_log (generation, actor, request, action, resource_type, resource, before, after)
                  SELECT generation, \(context.actor), \(context.request), \(action.rawValue), \(kind.rawValue), \(resource),
                         \(before)::jsonb, \(after)::jsonb FROM g)
            """
        fragment.append(to: &text)
    }

    /// Answers one row: the generation, the time the rows were stamped with, and the NOTIFY's result.
    var query: PostgresQuery {
        var text = self.text
        if bumps {
            text.appendLiteral(" SELECT generation, now(), pg_notify(")
            text.appendInterpolation(Store.changeChannel)
            text.appendLiteral(", generation::text)::text FROM g")
        } else {
            text.appendLiteral(" SELECT generation, now(), ''::text FROM g")
        }
        return PostgresQuery(stringInterpolation: text)
    }
}

/// A piece of SQL with bound values, to be spliced into a larger statement (a `PostgresQuery` cannot be,
/// since its parameters are already numbered).
struct SQLFragment: ExpressibleByStringInterpolation {
    enum Part {
        case sql(String)
        case value(any PostgresDynamicTypeEncodable)
        case null
    }

    var parts: [Part]

    init(stringLiteral value: String) {
        parts = [.sql(value)]
    }

    init(stringInterpolation: StringInterpolation) {
        parts = stringInterpolation.parts
    }

    struct StringInterpolation: StringInterpolationProtocol {
        var parts: [Part] = []

        init(literalCapacity: Int, interpolationCount: Int) {
            parts.reserveCapacity(interpolationCount * 2 + 1)
        }

        mutating func appendLiteral(_ literal: String) {
            parts.append(.sql(literal))
        }

        mutating func appendInterpolation(_ value: some PostgresDynamicTypeEncodable) {
            parts.append(.value(value))
        }

        mutating func appendInterpolation(_ value: (some PostgresDynamicTypeEncodable)?) {
            parts.append(value.map { .value($0) } ?? .null)
        }
    }

    func append(to text: inout PostgresQuery.StringInterpolation) {
        for part in parts {
            switch part {
            case .sql(let sql): text.appendLiteral(sql)
            case .value(let value): Self.bind(value, to: &text)
            case .null: text.appendInterpolation(Optional<String>.none)
            }
        }
    }

    private static func bind(_ value: some PostgresDynamicTypeEncodable, to text: inout PostgresQuery.StringInterpolation) {
        text.appendInterpolation(value)
    }
}
