import Foundation
import HTTPTypes
import OpenAPIRuntime
import SwitchyardCore
import SwitchyardStore

/// Checks the bearer token of every operation but the public ones, and that its scopes allow the
/// operation; makes the caller known to handlers through `CallerContext.current`.
struct AuthMiddleware: ServerMiddleware {
    let store: Store
    let cache: TokenCache

    /// Operations anyone may call: probes, metrics and the contract.
    static let publicOperations: Set<String> = ["getHealthz", "getReadyz", "getMetrics", "getOpenAPIDocument"]

    static func requiredScope(operationID: String, method: HTTPRequest.Method) -> Scope {
        if operationID.hasSuffix("Token") || operationID.hasSuffix("Tokens") { return .admin }
        return method == .get || method == .head ? .read : .write
    }

    func intercept(
        _ request: HTTPRequest,
        body: HTTPBody?,
        metadata: ServerRequestMetadata,
        operationID: String,
        next: @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        if Self.publicOperations.contains(operationID) { return try await next(request, body, metadata) }

        guard let header = request.headerFields[.authorization] else {
            throw APIError.unauthorized("send Authorization: Bearer <token>")
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer", !parts[1].isEmpty else {
            throw APIError.unauthorized("the Authorization header must be 'Bearer <token>'")
        }
        let secret = String(parts[1]).trimmingCharacters(in: .whitespaces)
        let hash = TokenSecret.hash(secret)
        let token: TokenRecord
        if let cached = cache.token(forHash: hash) {
            token = cached
        } else {
            if cache.isKnownUnknown(hash) { throw APIError.unauthorized("unknown or revoked token") }
            guard let found = try await store.token(secretHash: hash), TokenSecret.constantTimeEquals(found.storedHash, hash) else {
                cache.rememberUnknown(hash)
                throw APIError.unauthorized("unknown or revoked token")
            }
            token = found.token
            cache.remember(token, hash: hash)
        }
        let required = Self.requiredScope(operationID: operationID, method: request.method)
        guard token.scopes.grants(required) else {
            let held = token.scopes.map(\.rawValue).joined(separator: ", ")
            throw APIError.forbidden("token '\(token.name)' has scopes [\(held)]; this call needs \(required.rawValue)")
        }
        let context = CallerContext(
            tokenID: token.id, actor: token.name, scopes: token.scopes, request: "\(request.method.rawValue) \(request.path ?? "")")
        return try await CallerContext.$current.withValue(context) {
            try await next(request, body, metadata)
        }
    }
}
