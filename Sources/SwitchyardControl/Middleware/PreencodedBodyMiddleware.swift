import HTTPTypes
import OpenAPIRuntime
import Synchronization

/// Lets a handler answer with bytes it encoded itself (see `BackendListWriter`): the handler puts
/// them in `PreencodedBody.current` and returns a placeholder value, whose encoding this middleware
/// replaces. Outside this middleware `current` is nil and handlers return their typed values.
struct PreencodedBodyMiddleware: ServerMiddleware {
    func intercept(
        _ request: HTTPRequest, body: HTTPBody?, metadata: ServerRequestMetadata, operationID: String,
        next: @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        let slot = PreencodedBody()
        let (response, responseBody) = try await PreencodedBody.$current.withValue(slot) { try await next(request, body, metadata) }
        guard let bytes = slot.take() else { return (response, responseBody) }
        var replaced = response
        replaced.headerFields[.contentLength] = nil
        return (replaced, HTTPBody(bytes))
    }
}

/// The bytes a handler encoded itself for the response of the request in progress.
final class PreencodedBody: Sendable {
    @TaskLocal static var current: PreencodedBody?

    private let bytes = Mutex<[UInt8]?>(nil)

    func put(_ encoded: [UInt8]) { bytes.withLock { $0 = encoded } }

    func take() -> [UInt8]? { bytes.withLock { $0.take() } }
}
