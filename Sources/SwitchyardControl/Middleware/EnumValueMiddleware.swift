import Foundation
import HTTPTypes
import OpenAPIRuntime
import SwitchyardAPI
import SwitchyardCore

/// Names a bad enum value in the API's words, together with every other bad field of the request.
///
/// The generated decoders stop at the first string that is none of its enum's values, in the standard
/// library's words ("Cannot initialize PoolProtocol from invalid String value udp"), before any other
/// field is looked at. Here such a stop becomes a field error ("must be one of http, tcp"); the bad
/// value is replaced by a valid one and the request decoded again, which finds the next bad enum value;
/// once it decodes, the operation runs once more as a `ValidationRun`, whose handler checks every other
/// field and cannot write. The 400 then lists them all.
///
/// Why not decode enums leniently instead: the generated types are the contract's own, and handlers
/// match on their cases; lenient copies of every enum would have to be kept in step with openapi.yaml
/// by hand, while this needs only the list of enum types below and reuses each handler's validation as it is.
struct EnumValueMiddleware: ServerMiddleware {
    /// A body with more bad enum values than this reports the first ones (each costs one decoding).
    static let maximumReported = 20

    /// The values of every enum a request body can hold, by the type name the decoding error gives.
    static let enumValues: [String: [String]] = {
        func entry<E: RawRepresentable & CaseIterable>(_ type: E.Type) -> (String, [String]) where E.RawValue == String {
            ("\(type)", type.allCases.map(\.rawValue))
        }
        return Dictionary(
            uniqueKeysWithValues: [
                entry(Components.Schemas.PoolProtocol.self), entry(Components.Schemas.Algorithm.self),
                entry(Components.Schemas.PoolMode.self), entry(Components.Schemas.HealthCheckType.self),
                entry(Components.Schemas.AdminState.self), entry(Components.Schemas.ListenerProtocol.self),
                entry(Components.Schemas.Scope.self),
            ])
    }()

    /// A decoding error about a string that is none of its enum's values.
    struct BadValue {
        var path: [any CodingKey]
        var allowed: [String]

        init?(_ error: any Error) {
            guard case .dataCorrupted(let context) = Self.underlying(error) as? DecodingError,
                let typeName = Self.enumTypeName(context.debugDescription), let allowed = EnumValueMiddleware.enumValues[typeName],
                !allowed.isEmpty, !context.codingPath.isEmpty
            else { return nil }
            self.path = context.codingPath
            self.allowed = allowed
        }

        var fieldError: FieldError {
            FieldError(field: ProblemMiddleware.fieldPath(path), message: "must be one of \(allowed.joined(separator: ", "))")
        }

        static func underlying(_ error: any Error) -> any Error {
            (error as? ServerError)?.underlyingError ?? error
        }

        /// "Cannot initialize PoolProtocol from invalid String value udp" → "PoolProtocol".
        static func enumTypeName(_ description: String) -> String? {
            let prefix = "Cannot initialize "
            guard description.hasPrefix(prefix), let end = description.range(of: " from invalid ") else { return nil }
            return String(description[description.index(description.startIndex, offsetBy: prefix.count)..<end.lowerBound])
        }
    }

    func intercept(
        _ request: HTTPRequest,
        body: HTTPBody?,
        metadata: ServerRequestMetadata,
        operationID: String,
        next: @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        do {
            return try await next(request, body, metadata)
        } catch {
            // Bodies of JSON requests come here buffered (`NullRejectingMiddleware`), so they can be read again.
            guard let first = BadValue(error), let body, case .multiple = body.iterationBehavior,
                let data = try? await Data(collecting: body, upTo: .max),
                var document = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
            else { throw error }
            var errors: [FieldError] = []
            var bad: BadValue? = first
            while let current = bad {
                errors.append(current.fieldError)
                bad = nil
                guard errors.count < Self.maximumReported, Self.replace(at: current.path[...], in: &document, with: current.allowed),
                    let patched = try? JSONSerialization.data(withJSONObject: document, options: [.fragmentsAllowed])
                else { break }
                do {
                    _ = try await ValidationRun.$active.withValue(true) { try await next(request, HTTPBody(patched), metadata) }
                } catch {
                    if let another = BadValue(error) {
                        bad = another
                    } else if case .validation(let more) = BadValue.underlying(error) as? APIError {
                        errors.append(contentsOf: more)
                    } else if let decoding = BadValue.underlying(error) as? DecodingError {
                        errors.append(ProblemMiddleware.fieldError(decoding))
                    }
                    // Anything else (the run reached its write, or a check against the store) adds nothing.
                }
            }
            throw APIError.validation(errors)
        }
    }

    /// Sets the value at `path` (object keys and array indexes) of a JSON document to one of `allowed`: in a
    /// list, one the list does not hold yet, so that the stand-in does not look like a repeated value.
    static func replace(at path: ArraySlice<any CodingKey>, in value: inout Any, with allowed: [String]) -> Bool {
        guard let key = path.first else {
            value = allowed[0]
            return true
        }
        if var object = value as? [String: Any], var child = object[key.stringValue] {
            guard replace(at: path.dropFirst(), in: &child, with: allowed) else { return false }
            object[key.stringValue] = child
            value = object
            return true
        }
        if var array = value as? [Any], let index = key.intValue, array.indices.contains(index) {
            var child = array[index]
            if path.count == 1 {
                let held = Set(array.compactMap { $0 as? String })
                child = allowed.first { !held.contains($0) } ?? allowed[0]
            } else {
                guard replace(at: path.dropFirst(), in: &child, with: allowed) else { return false }
            }
            array[index] = child
            value = array
            return true
        }
        return false
    }
}
