import Foundation
import HTTPTypes
import OpenAPIRuntime
import SwitchyardCore

/// No field of any request body of this API takes `null`, but the generated decoders read a null as
/// "absent" (which would silently mean "default"). This refuses nulls with the field they sit in.
struct NullRejectingMiddleware: ServerMiddleware {
    func intercept(
        _ request: HTTPRequest,
        body: HTTPBody?,
        metadata: ServerRequestMetadata,
        operationID: String,
        next: @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        guard let body, Self.isReadAsJSON(request) else {
            return try await next(request, body, metadata)
        }
        // Bounded by `BodyLimitMiddleware`, which throws while this reads a body past the cap.
        let data = try await Data(collecting: body, upTo: .max)
        if data.withUnsafeBytes({ JSONNullScanner.containsNull($0) }),
            let object = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        {
            var nulls: [FieldError] = []
            Self.findNulls(in: object, path: "", into: &nulls)
            if !nulls.isEmpty { throw APIError.validation(nulls) }
        }
        return try await next(request, HTTPBody(data), metadata)
    }

    /// Whether the generated code reads this request's body as JSON: when it says so, and also when it
    /// names no type or a wildcard (the runtime then takes the operation's first type, JSON for all of them).
    static func isReadAsJSON(_ request: HTTPRequest) -> Bool {
        guard let type = request.headerFields[.contentType]?.lowercased().trimmingCharacters(in: .whitespaces), !type.isEmpty else {
            return true
        }
        return type.hasPrefix("application/json") || type.hasPrefix("*/*") || type.hasSuffix("/*") || type.contains("/*;")
    }

    static func findNulls(in value: Any, path: String, into errors: inout [FieldError]) {
        switch value {
        case is NSNull:
            errors.append(FieldError(field: path.isEmpty ? "body" : path, message: "must not be null; omit the field instead"))
        case let object as [String: Any]:
            for (key, child) in object.sorted(by: { $0.key < $1.key }) {
                findNulls(in: child, path: path.isEmpty ? key : "\(path).\(key)", into: &errors)
            }
        case let array as [Any]:
            for (index, child) in array.enumerated() { findNulls(in: child, path: "\(path)[\(index)]", into: &errors) }
        default:
            break
        }
    }
}
