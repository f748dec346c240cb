import Foundation
import Logging
import PostgresNIO
import SwitchyardCore

extension Store {
    /// The token whose secret hashes to `secretHash`, with the stored hash (compared again by the caller
    /// in constant time).
    public func token(secretHash: String) async throws -> (token: TokenRecord, storedHash: String)? {
        try await withConnection { connection in
            let rows = try await connection.query(
                "SELECT id, name, scopes, created_at, created_by, secret_hash FROM tokens WHERE secret_hash = \(secretHash)",
                logger: self.logger)
            for try await (id, name, scopes, created, createdBy, stored) in rows.decode((UUID, String, [String], Date, String, String).self) {
                let scopes = knownScopes(scopes, token: name, logger: self.logger)
                return (TokenRecord(id: id, name: name, scopes: scopes, createdAt: created, createdBy: createdBy), stored)
            }
            return nil
        }
    }

    public func tokens() async throws -> [TokenRecord] {
        try await withConnection { connection in
            let rows = try await connection.query(
                "SELECT id, name, scopes, created_at, created_by FROM tokens ORDER BY name", logger: self.logger)
            var records: [TokenRecord] = []
            for try await (id, name, scopes, created, createdBy) in rows.decode((UUID, String, [String], Date, String).self) {
                records.append(
                    TokenRecord(
                        id: id, name: name, scopes: knownScopes(scopes, token: name, logger: self.logger), createdAt: created,
                        createdBy: createdBy))
            }
            return records
        }
    }

    /// Whether any token exists (a start with none creates the bootstrap admin token).
    public func hasTokens() async throws -> Bool {
        try await withConnection { connection in
            let rows = try await connection.query("SELECT 1 FROM tokens LIMIT 1", logger: self.logger)
            for try await _ in rows { return true }
            return false
        }
    }

    /// Creates the first admin token when there is no token at all; returns whether it did.
    public func bootstrapAdminToken(name: String, secretHash: String) async throws -> Bool {
        do {
            _ = try await write(WriteContext(actor: "bootstrap", request: "switchyard serve")) { locks in
                let transaction = locks.done()
                // Roll back (and so keep the generation) when tokens exist already.
                if try await !transaction.bootstrapAdminToken(name: name, secretHash: secretHash) { throw TokensExist() }
            }
            return true
        } catch is TokensExist {
            return false
        }
    }
}

extension WriteTransaction {
    public func tokenExists(_ name: String) async throws -> Bool {
        let rows = try await connection.query("SELECT 1 FROM tokens WHERE name = \(name)", logger: logger)
        for try await _ in rows { return true }
        return false
    }

    public func createToken(name: String, secretHash: String, scopes: [Scope]) async throws -> TokenRecord {
        let scopeNames = scopes.map(\.rawValue)
        let rows = try await connection.query(
            """
            INSERT INTO tokens (name, secret_hash, scopes, created_by) VALUES (\(name), \(secretHash), \(scopeNames), \(context.actor))
            RETURNING id, created_at
            """, logger: logger)
        var (id, created) = (UUID(), Date())
        for try await value in rows.decode((UUID, Date).self) { (id, created) = value }
        let record = TokenRecord(id: id, name: name, scopes: scopes, createdAt: created, createdBy: context.actor)
        try await tokensChanged()
        try await audit(action: .create, kind: .token, resource: name, before: nil, after: ResourceJSON.encode(TokenAuditView(record)))
        return record
    }

    /// Deletes a token; returns false when there is none of that name.
    public func deleteToken(name: String) async throws -> TokenRecord? {
        let rows = try await connection.query(
            "DELETE FROM tokens WHERE name = \(name) RETURNING id, scopes, created_at, created_by", logger: logger)
        var deleted: TokenRecord?
        for try await (id, scopes, created, createdBy) in rows.decode((UUID, [String], Date, String).self) {
            deleted = TokenRecord(
                id: id, name: name, scopes: knownScopes(scopes, token: name, logger: logger), createdAt: created, createdBy: createdBy)
        }
        if let deleted {
            try await tokensChanged()
            try await audit(action: .delete, kind: .token, resource: name, before: ResourceJSON.encode(TokenAuditView(deleted)), after: nil)
        }
        return deleted
    }

    public func adminTokenCount() async throws -> Int {
        let rows = try await connection.query("SELECT count(*) FROM tokens WHERE 'admin' = ANY(scopes)", logger: logger)
        for try await count in rows.decode(Int64.self) { return Int(count) }
        return 0
    }

    /// Tells every instance to forget the tokens it verified (see `StoredConfiguration.tokenGeneration`).
    private func tokensChanged() async throws {
        let generation = try await generation()
        try await run("UPDATE config_state SET token_generation = \(generation)")
    }

    func bootstrapAdminToken(name: String, secretHash: String) async throws -> Bool {
        // Instances starting together: one at a time decides.
        _ = try await generation()
        let rows = try await connection.query("SELECT count(*) FROM tokens", logger: logger)
        var count: Int64 = 0
        for try await value in rows.decode(Int64.self) { count = value }
        guard count == 0 else { return false }
        _ = try await createToken(name: name, secretHash: secretHash, scopes: [.admin])
        return true
    }
}

/// What the audit log keeps of a token: never its hash.
struct TokenAuditView: Encodable {
    var name: String
    var scopes: [Scope]
    var createdBy: String

    init(_ record: TokenRecord) {
        name = record.name
        scopes = record.scopes
        createdBy = record.createdBy
    }
}

private struct TokensExist: Error {}

/// The scopes a token's row names. A scope this version does not know (written by a newer version that
/// shares the database, or by hand) grants nothing here: it is left out, which only ever takes rights
/// away, and a warning names it, so that a token that lost rights says why.
func knownScopes(_ names: [String], token: String, logger: Logger) -> [Scope] {
    var scopes: [Scope] = []
    var unknown: [String] = []
    for name in names {
        if let scope = Scope(rawValue: name) { scopes.append(scope) } else { unknown.append(name) }
    }
    if !unknown.isEmpty {
        logger.warning(
            "token names scopes this version does not know; they grant nothing",
            metadata: ["token": "\(token)", "unknown_scopes": "\(unknown.joined(separator: ","))"])
    }
    return scopes
}
