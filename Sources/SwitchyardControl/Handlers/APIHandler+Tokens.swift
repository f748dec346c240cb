import Foundation
import SwitchyardAPI
import SwitchyardCore
import SwitchyardStore

extension APIHandler {
    func listTokens(_ input: Operations.ListTokens.Input) async throws -> Operations.ListTokens.Output {
        let tokens = try await store.tokens()
        return .ok(.init(body: .json(.init(items: tokens.map(Schemas.Token.init)))))
    }

    func createToken(_ input: Operations.CreateToken.Input) async throws -> Operations.CreateToken.Output {
        guard case .json(let body) = input.body else { throw APIError.unsupportedMediaType("expected application/json") }
        var errors = FieldErrorCollector()
        if !ResourceName.isValid(body.name) { errors.add("name", ResourceName.rule) }
        if body.scopes.isEmpty { errors.add("scopes", "must name at least one of read, write, admin") }
        // The contract says `uniqueItems`: a repeated scope is a mistake worth naming, not something to fold away.
        if Set(body.scopes).count != body.scopes.count { errors.add("scopes", "must not name a scope twice") }
        if !errors.errors.isEmpty { throw APIError.validation(errors.errors) }
        let scopes = Array(Set(body.scopes.map(Scope.init))).sorted()
        let name = body.name
        let secret = TokenSecret.generate()
        let hash = TokenSecret.hash(secret)
        let (record, _) = try await store.write(try caller.writeContext) { locks in
            let transaction = locks.done()
            _ = try await transaction.generation()
            if try await transaction.tokenExists(name) { throw APIError.conflict("a token named '\(name)' already exists") }
            return try await transaction.createToken(name: name, secretHash: hash, scopes: scopes)
        }
        return .created(
            .init(
                headers: .init(location: "/v1/tokens/\(name)"),
                body: .json(
                    .init(
                        name: record.name, scopes: record.scopes.map(Schemas.Scope.init), createdAt: record.createdAt,
                        createdBy: record.createdBy, secret: secret))))
    }

    func deleteToken(_ input: Operations.DeleteToken.Input) async throws -> Operations.DeleteToken.Output {
        let name = input.path.token
        _ = try await store.write(try caller.writeContext) { locks in
            let transaction = locks.done()
            _ = try await transaction.generation()
            guard let deleted = try await transaction.deleteToken(name: name) else {
                throw APIError.notFound("no token named '\(name)'")
            }
            if deleted.scopes.contains(.admin), try await transaction.adminTokenCount() == 0 {
                throw APIError.conflict("'\(name)' is the last admin token; create another admin token first")
            }
        }
        tokenCache.invalidate(name: name)
        return .noContent(.init())
    }
}

extension Schemas.Token {
    init(_ record: TokenRecord) {
        self.init(
            name: record.name, scopes: record.scopes.map(Schemas.Scope.init), createdAt: record.createdAt,
            createdBy: record.createdBy)
    }
}
