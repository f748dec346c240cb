import Foundation
import HTTPTypes
import OpenAPIRuntime
import SwitchyardCore
import SwitchyardStore

/// Checks the bearer token of every operation but the public ones, and that its scopes allow the
/// operation; makes the caller known to handlers through `CallerContext.current`.
struct AuthMiddleware: ServerMiddleware {
    let store: Store

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
        guard let found = try await store.token(secretHash: hash), TokenSecret.constantTimeEquals(found.storedHash, hash) else {
            throw APIError.unauthorized("unknown or revoked token")
        }
        let required = Self.requiredScope(operationID: operationID, method: request.method)
        guard found.token.scopes.grants(required) else {
            throw APIError.forbidden(
                "token '\(found.token.name)' has scopes [\(found.token.scopes.map(\.rawValue).joined(separator: ", "))]; this call needs \(required.rawValue)"
            )
        }
        let context = CallerContext(
            actor: found.token.name, scopes: found.token.scopes, request: "\(request.method.rawValue) \(request.path ?? "")")
        return try await CallerContext.$current.withValue(context) {
            try await next(request, body, metadata)
        }
    }
}
