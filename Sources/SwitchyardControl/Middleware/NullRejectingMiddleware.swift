import Foundation
import HTTPTypes
import OpenAPIRuntime
import SwitchyardCore

/// No field of any request body of this API takes `null`, but the generated decoders read a null as
/// "absent" (which would silently mean "default"). This refuses nulls with the field they sit in.
struct NullRejectingMiddleware: ServerMiddleware {
    /// Request bodies larger than this are refused (a whole configuration of 10,000 backends is ~1 MiB).
    static let maximumBodyBytes = 64 << 20

    func intercept(
        _ request: HTTPRequest,
        body: HTTPBody?,
        metadata: ServerRequestMetadata,
        operationID: String,
        next: @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        guard let body, request.headerFields[.contentType]?.lowercased().hasPrefix("application/json") == true else {
            return try await next(request, body, metadata)
        }
        let data: Data
        do {
            data = try await Data(collecting: body, upTo: Self.maximumBodyBytes)
        } catch {
            throw APIError.badRequest("the request body is larger than \(Self.maximumBodyBytes) bytes")
        }
        if data.withUnsafeBytes({ JSONNullScanner.containsNull($0) }),
            let object = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        {
            var nulls: [FieldError] = []
            Self.findNulls(in: object, path: "", into: &nulls)
            if !nulls.isEmpty { throw APIError.validation(nulls) }
        }
        return try await next(request, HTTPBody(data), metadata)
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
