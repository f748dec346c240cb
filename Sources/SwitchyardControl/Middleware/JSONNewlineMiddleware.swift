import HTTPTypes
import Hummingbird
import NIOCore

/// Ends every JSON answer (`application/json`, `application/problem+json`) with a newline, as the HAProxy
/// Data Plane API and Caddy do, so that successive answers do not run together on a terminal.
///
/// The outermost middleware of the router, so it sees every answer: the typed ones, the pre-encoded
/// lists (`PreencodedBodyMiddleware`) and the problems of both error middlewares. The body is not copied:
/// its writer is wrapped to send one more byte with the last buffer, and Content-Length counts that byte.
struct JSONNewlineMiddleware<Context: Hummingbird.RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        guard isJSONMediaType(response.headers[.contentType]) else { return response }
        let body = response.body
        // An empty body (a 304, say) stays empty: a lone newline is not JSON either.
        if body.contentLength == 0 { return response }
        let declaredLength = response.headers[.contentLength].flatMap(Int.init)
        // Setting `body` sets Content-Length from the new body's length when it has one.
        response.body = ResponseBody(contentLength: body.contentLength.map { $0 + 1 }) { writer in
            try await body.write(NewlineTerminatedWriter(base: writer))
        }
        if body.contentLength == nil, let declaredLength { response.headers[.contentLength] = String(declaredLength + 1) }
        return response
    }
}

/// Whether a Content-Type names JSON: `application/json` or a `+json` type, parameters aside.
func isJSONMediaType(_ contentType: String?) -> Bool {
    guard let contentType else { return false }
    let mediaType = contentType.split(separator: ";", maxSplits: 1).first.map { $0.trimmingSpaces.lowercased() } ?? ""
    return mediaType == "application/json" || (mediaType.hasPrefix("application/") && mediaType.hasSuffix("+json"))
}

/// Passes a body through and sends a newline after it. The last buffer is held back and goes out in one
/// batch with the newline, so that the newline costs no write (nor flush, nor system call) of its own:
/// an answer goes out in as many writes as it would without it.
struct NewlineTerminatedWriter: ResponseBodyWriter {
    var base: any ResponseBodyWriter
    /// The last buffer written to this writer and not yet passed on.
    private var held: ByteBuffer?

    static let newline = ByteBuffer(string: "\n")

    init(base: any ResponseBodyWriter) {
        self.base = base
    }

    mutating func write(_ buffer: ByteBuffer) async throws {
        if let previous = held.take() { try await base.write(previous) }
        held = buffer
    }

    mutating func write(contentsOf buffers: some Sequence<ByteBuffer>) async throws {
        var batch = held.take().map { [$0] } ?? []
        batch.append(contentsOf: buffers)
        held = batch.popLast()
        if !batch.isEmpty { try await base.write(contentsOf: batch) }
    }

    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {
        var base = self.base
        if let last = held {
            try await base.write(contentsOf: [last, Self.newline])
        } else {
            try await base.write(Self.newline)
        }
        try await base.finish(trailingHeaders)
    }
}

extension Substring {
    fileprivate var trimmingSpaces: Substring {
        var text = self
        while text.first == " " || text.first == "\t" { text.removeFirst() }
        while text.last == " " || text.last == "\t" { text.removeLast() }
        return text
    }
}
