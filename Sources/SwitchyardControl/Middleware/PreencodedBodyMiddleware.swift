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
        guard let chunks = slot.take() else { return (response, responseBody) }
        var replaced = response
        replaced.headerFields[.contentLength] = nil
        let length = chunks.reduce(0) { $0 + $1.count }
        let stream = AsyncStream<ArraySlice<UInt8>> { continuation in
            for chunk in chunks { continuation.yield(chunk[...]) }
            continuation.finish()
        }
        return (replaced, HTTPBody(stream, length: .known(Int64(length))))
    }
}

/// The bytes a handler encoded itself for the response of the request in progress.
final class PreencodedBody: Sendable {
    @TaskLocal static var current: PreencodedBody?

    private let chunks = Mutex<[[UInt8]]?>(nil)

    /// The body, in chunks written one after the other.
    func put(_ encoded: [[UInt8]]) { chunks.withLock { $0 = encoded } }

    func take() -> [[UInt8]]? { chunks.withLock { $0.take() } }
}
