import Foundation
import HTTPTypes
import Logging
import OpenAPIRuntime
import SwitchyardCore
import SwitchyardStore

/// The one place where errors become responses: domain errors, store errors and request-decoding errors
/// all leave as problem+json. Also times every operation for `/metrics`.
struct ProblemMiddleware: ServerMiddleware {
    let metrics: APIMetrics
    let logger: Logger

    func intercept(
        _ request: HTTPRequest,
        body: HTTPBody?,
        metadata: ServerRequestMetadata,
        operationID: String,
        next: @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        let started = ContinuousClock.now
        let result: (HTTPResponse, HTTPBody?)
        do {
            try Self.checkHeaderLimits(request)
            result = try await next(request, body, metadata)
        } catch {
            let problem = problem(for: error, operationID: operationID)
            result = problem.response
        }
        var response = result.0
        // The OpenAPI runtime percent-encodes header values; ETag and Location must go out as they are.
        for name in [HTTPField.Name.eTag, .location] {
            if let value = response.headerFields[name], let decoded = value.removingPercentEncoding { response.headerFields[name] = decoded }
        }
        if let generation = response.headerFields[.switchyardGeneration].flatMap(Int64.init) { metrics.setGeneration(generation) }
        metrics.record(operation: operationID, status: response.status.code, duration: ContinuousClock.now - started)
        return (response, result.1)
    }

    func problem(for error: any Error, operationID: String) -> Problem {
        var underlying = error
        if let serverError = error as? ServerError {
            underlying = serverError.underlyingError
            if let decoding = underlying as? DecodingError {
                return Problem(APIError.validation([Self.fieldError(decoding)]))
            }
            if !(underlying is APIError) && !(underlying is StoreError) {
                // Errors of the generated code: bad parameters, content type, body shape.
                let status = serverError.httpStatus.code
                let detail = Self.describe(serverError)
                switch status {
                case 415: return Problem(APIError.unsupportedMediaType(detail))
                case 400..<500:
                    return Problem(status: status, slug: "bad-request", title: "Bad request", detail: detail)
                default:
                    if detail.contains("Content-Type") || detail.contains("content type") {
                        return Problem(APIError.unsupportedMediaType(detail))
                    }
                    if Self.isRequestShapeError(serverError) {
                        return Problem(status: 400, slug: "bad-request", title: "Bad request", detail: detail)
                    }
                }
            }
        }
        switch underlying {
        case let apiError as APIError:
            return Problem(apiError)
        case let storeError as StoreError:
            switch storeError {
            case .unavailable(let detail):
                let detail = PasswordRedaction.redacting(detail)
                return Problem(APIError.unavailable("PostgreSQL is unreachable (\(detail)); the last applied configuration keeps serving"))
            case .constraint(let state, let detail) where state == "23505":
                return Problem(APIError.conflict("already exists: \(detail)"))
            case .constraint(let state, let detail) where state == "23503":
                return Problem(APIError.conflict("in use: \(detail)"))
            case .constraint(_, let detail):
                return Problem(APIError.conflict(detail))
            default:
                logger.error("store error", metadata: ["operation": "\(operationID)", "error": "\(storeError)"])
                return Problem(status: 500, slug: "internal", title: "Internal error", detail: "\(storeError)")
            }
        default:
            logger.error("unexpected error", metadata: ["operation": "\(operationID)", "error": "\(String(reflecting: underlying))"])
            return Problem(status: 500, slug: "internal", title: "Internal error", detail: "an unexpected error was logged")
        }
    }

    /// The lengths openapi.yaml gives `If-Match` and `Idempotency-Key` (the generated code does not check them).
    static func checkHeaderLimits(_ request: HTTPRequest) throws {
        var errors: [FieldError] = []
        if let ifMatch = request.headerFields[.ifMatch], ifMatch.count > 100 {
            errors.append(FieldError(field: "If-Match", message: "must be at most 100 characters"))
        }
        if let key = request.headerFields[HTTPField.Name("Idempotency-Key")!], key.isEmpty || key.count > 200 {
            errors.append(FieldError(field: "Idempotency-Key", message: "must be 1 to 200 characters"))
        }
        if !errors.isEmpty { throw APIError.validation(errors) }
    }

    /// Whether the generated code refused the request itself (before a handler ran). An error that one of
    /// our middlewares threw also comes before the input, but is no fault of the request (a failed token
    /// lookup, say): the runtime names those "Middleware of type … threw an error".
    static func isRequestShapeError(_ error: ServerError) -> Bool {
        error.operationInput == nil && !error.causeDescription.hasPrefix("Middleware of type")
    }

    static func describe(_ error: ServerError) -> String {
        let underlying = String(describing: error.underlyingError)
        return underlying.isEmpty ? error.causeDescription : "\(error.causeDescription): \(underlying)"
    }

    /// A coding path as the API names fields: `health_check.path`, `routes[1].pool` ("body" when empty).
    static func fieldPath(_ keys: [any CodingKey]) -> String {
        var text = ""
        for key in keys {
            if let index = key.intValue {
                text += "[\(index)]"
            } else {
                text += text.isEmpty ? key.stringValue : ".\(key.stringValue)"
            }
        }
        return text.isEmpty ? "body" : text
    }

    /// Names the field a JSON decoding error is about, as a dotted path.
    static func fieldError(_ error: DecodingError) -> FieldError {
        let path = fieldPath
        switch error {
        case .keyNotFound(let key, let context):
            return FieldError(field: path(context.codingPath + [key]), message: "is required")
        case .typeMismatch(let type, let context):
            return FieldError(field: path(context.codingPath), message: "must be of type \(Self.jsonTypeName(type))")
        case .valueNotFound(let type, let context):
            return FieldError(field: path(context.codingPath), message: "must be a \(Self.jsonTypeName(type)), not null")
        case .dataCorrupted(let context):
            return FieldError(field: path(context.codingPath), message: context.debugDescription)
        @unknown default:
            return FieldError(field: "body", message: "\(error)")
        }
    }

    static func jsonTypeName(_ type: Any.Type) -> String {
        let name = String(describing: type)
        if name.contains("Int") { return "integer" }
        if name.contains("Bool") { return "boolean" }
        if name.contains("String") { return "string" }
        if name.contains("Array") || name.hasPrefix("[") { return "array" }
        if name.contains("Double") || name.contains("Float") { return "number" }
        return "object"
    }
}

extension HTTPField.Name {
    static let switchyardGeneration = HTTPField.Name("Switchyard-Generation")!
}
