import Foundation
import HTTPTypes
import OpenAPIRuntime
import Synchronization

/// Caps every request body, in size and in time, whatever its Content-Type (or none: the generated code then reads the body
/// as JSON, and would otherwise read all of it): a body declared larger than the cap is refused before a
/// byte of it is read, and one that turns out larger (chunked) as soon as it passes the cap, with 413;
/// one still arriving after `bodyTimeout` with 408.
/// A body past `largeBodyBytes` needs one of a few places (`LargeBodyGate`), held until the answer:
/// many clients each sending a body near the cap cannot make the process hold them all at once.
struct BodyLimitMiddleware: ServerMiddleware {
    let limits: APILimits
    let gate: LargeBodyGate

    func intercept(
        _ request: HTTPRequest,
        body: HTTPBody?,
        metadata: ServerRequestMetadata,
        operationID: String,
        next: @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        guard let body else { return try await next(request, nil, metadata) }
        if case .known(let length) = body.length, length > limits.maximumBodyBytes {
            throw APIError.tooLarge("the request body (\(length) bytes) is larger than \(limits.maximumBodyBytes) bytes")
        }
        let admission = LargeBodyAdmission(gate: gate, threshold: limits.largeBodyBytes)
        defer { admission.leave() }
        let capped = HTTPBody(
            CappedBody(
                base: body, maximum: limits.maximumBodyBytes, deadline: .now + limits.bodyTimeout, timeout: limits.bodyTimeout,
                admission: admission),
            length: body.length, iterationBehavior: body.iterationBehavior)
        return try await next(request, capped, metadata)
    }
}

/// One request's place among the large bodies, taken when its body passes the threshold.
final class LargeBodyAdmission: Sendable {
    let gate: LargeBodyGate
    let threshold: Int
    private let entered = Mutex(false)

    init(gate: LargeBodyGate, threshold: Int) {
        self.gate = gate
        self.threshold = threshold
    }

    func admit(total: Int) throws {
        guard total > threshold else { return }
        try entered.withLock { entered in
            if entered { return }
            guard gate.tryEnter() else {
                throw APIError.busy("\(gate.limit) large request bodies are being read already; retry in a moment")
            }
            entered = true
        }
    }

    func leave() {
        entered.withLock { entered in
            if entered { gate.leave() }
            entered = false
        }
    }
}

/// A body that throws once more than `maximum` bytes came through it, or a part of it comes after `deadline`.
struct CappedBody: AsyncSequence, Sendable {
    typealias Element = HTTPBody.ByteChunk

    let base: HTTPBody
    let maximum: Int
    let deadline: ContinuousClock.Instant
    let timeout: Duration
    let admission: LargeBodyAdmission

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: HTTPBody.AsyncIterator
        let body: CappedBody
        var total = 0

        mutating func next() async throws -> Element? {
            guard let chunk = try await base.next() else { return nil }
            total += chunk.count
            if total > body.maximum { throw APIError.tooLarge("the request body is larger than \(body.maximum) bytes") }
            if ContinuousClock.now > body.deadline {
                throw APIError.requestTimeout("the request body took longer than \(body.timeout) to arrive")
            }
            try body.admission.admit(total: total)
            return chunk
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: base.makeAsyncIterator(), body: self)
    }
}
