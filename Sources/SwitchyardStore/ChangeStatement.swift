import Foundation
import PostgresNIO
import SwitchyardCore

/// One configuration change as a single statement: the row change and its audit row, stamped with the
/// write's generation, which the statement also takes (bump, lock and NOTIFY) when the write has none
/// yet. One round trip under the generation lock instead of three.
///
/// The change refers to the generation as `(SELECT generation FROM g)`.
struct ChangeStatement {
    private var text = PostgresQuery.StringInterpolation(literalCapacity: 1024, interpolationCount: 16)
    private let bumps: Bool

    init(generation: Int64?) {
        bumps = generation == nil
        if let generation {
            text.appendLiteral("WITH g AS (SELECT \(generation)::bigint AS generation), ")
        } else {
            text.appendLiteral("WITH g AS (UPDATE config_state SET generation = generation + 1 RETURNING generation), ")
        }
    }

    /// The row change (an INSERT, UPDATE or DELETE).
    mutating func change(_ fragment: SQLFragment) {
        text.appendLiteral("c AS (")
        fragment.append(to: &text)
        text.appendLiteral("), ")
    }

    mutating func audit(_ context: WriteContext, action: ChangeAction, kind: ResourceKind, resource: String, before: String?, after: String?) {
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
            text.appendLiteral(" SELECT generation, now(), pg_notify('\(Store.changeChannel)', generation::text)::text FROM g")
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
