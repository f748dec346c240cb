import Foundation
import HTTPTypes
import OpenAPIRuntime
import SwitchyardCore
import SwitchyardStore

/// `?wait=applied[&timeout_ms=N]` on a write: the answer waits until every running instance reports
/// the write's generation as applied (or the timeout passes), so a deploy script knows the change is
/// live everywhere before it moves on. `Switchyard-Applied: true` or `timeout` says which happened;
/// the write itself is committed either way.
struct WaitAppliedMiddleware: ServerMiddleware {
    static let appliedHeader = HTTPField.Name("Switchyard-Applied")!
    static let defaultTimeoutMs = 5000
    static let maximumTimeoutMs = 60_000

    let store: Store

    func intercept(
        _ request: HTTPRequest,
        body: HTTPBody?,
        metadata: ServerRequestMetadata,
        operationID: String,
        next: @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        guard let query = request.path.flatMap(URLComponents.init(string:))?.queryItems,
            query.contains(where: { $0.name == "wait" || $0.name == "timeout_ms" })
        else {
            return try await next(request, body, metadata)
        }
        // Both are checked whether or not the other is given (and before If-Match: 400 before 412).
        var errors: [FieldError] = []
        let wait = query.last(where: { $0.name == "wait" })?.value
        if let wait, wait != "applied" { errors.append(FieldError(field: "wait", message: "must be applied")) }
        var timeoutMs = Self.defaultTimeoutMs
        if let text = query.last(where: { $0.name == "timeout_ms" })?.value {
            if let value = Int(text), (1...Self.maximumTimeoutMs).contains(value) {
                timeoutMs = value
            } else {
                errors.append(FieldError(field: "timeout_ms", message: "must be an integer from 1 to \(Self.maximumTimeoutMs)"))
            }
        }
        if !errors.isEmpty { throw APIError.validation(errors) }
        guard wait != nil else { return try await next(request, body, metadata) }
        var (response, responseBody) = try await next(request, body, metadata)
        guard (200..<300).contains(response.status.code),
            let generation = response.headerFields[.switchyardGeneration].flatMap(Int64.init)
        else {
            return (response, responseBody)
        }
        let applied = try await store.waitUntilApplied(generation, timeout: .milliseconds(timeoutMs))
        response.headerFields[Self.appliedHeader] = applied ? "true" : "timeout"
        return (response, responseBody)
    }
}
