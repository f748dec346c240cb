import NIOCore

/// The HTTP protocol of one client connection, without I/O: requests one at a time (pipelined ones
/// wait), each routed, sent to one backend or more (retries), and answered; which deadline is in force
/// and what its passing means; when reads pause; when a backend connection may be reused and when the
/// client's connection ends. Events come in as calls, with the time passed in; each returns what the
/// I/O shell (`HTTPProxyHandler`) must do. It holds bytes (`ByteBuffer` values) but no sockets, pools or
/// clocks, so that every transition is tested without a network (`HTTPExchangeTests`).
struct HTTPExchange {
    /// What the connection's one deadline is for (docs/proxy.md, "Timeouts").
    enum Waiting: Equatable {
        /// Nothing: a connect in progress has its own timer.
        case nothing
        /// Between requests on a kept-alive connection (and before the first).
        case idle
        /// The rest of a request head.
        case head
        /// More of a request body: silence, or too slow an average.
        case body
        /// A byte from the backend: the response head, or more of its body.
        case response
        /// The client to take what it has not read.
        case send
    }

    enum Phase: Equatable {
        /// Waiting for a request head: between requests, or with part of one received.
        case awaitingHead
        /// A request is in progress (`request`).
        case exchanging
        /// The connection is ending: further events change nothing.
        case closing
    }

    /// The current request's backend connection.
    enum Upstream: Equatable {
        case none
        case connecting
        case attached(pooled: Bool)
    }

    /// Where a request goes, as the shell found it in the listener's routes.
    enum Route: Equatable {
        /// To a pool: its `retries` and `timeouts.response_ms`.
        case pool(retries: Int, responseTimeout: TimeAmount)
        /// Answered by the proxy, and the connection closed (no route, listener removed, rate limited).
        case refused(status: Int, detail: String, retryAfter: Int?)
        /// Answered by the proxy with a redirect to the same host and target over https (`redirect_https`);
        /// the connection stays open when the request has no body and the client keeps it.
        case redirectToHTTPS
    }

    /// What the shell does next, after a client event, a routing or an attempt's end.
    enum Step: Equatable {
        /// Nothing (reads follow `wantsClientReads`, the timer `deadline`).
        case none
        /// A request head is complete: route it and pass the result to `start`.
        case route(RequestHead, ByteBuffer)
        /// Send the request to a backend not in `request.tried`, then report `attempt` and `attached`
        /// (or `connectFailed`); `noBackend` if there is none. `retry`: another attempt after a failure.
        case dispatch(retry: Bool)
        /// Write these request body bytes to the backend connection.
        case forwardBody(ByteBuffer)
        /// Answer with this error and close; no exchange is in progress (a bad head, a refused route).
        case reject(status: Int, detail: String, retryAfter: Int?)
        /// Write this answer of the proxy's own (status `status`); no exchange is in progress. With
        /// `keepAlive`, the connection goes on with `nextRequest`; otherwise it closes after the answer.
        case answer(ByteBuffer, status: Int, keepAlive: Bool)
        /// The exchange ends with this error answer (its backend connection, if any, is dropped). With
        /// `keepAlive`, the connection goes on with `nextRequest`; otherwise it closes after the answer.
        case fail(status: Int, detail: String, keepAlive: Bool)
        /// The exchange ends with its response cut short: the client learns it by the connection closing
        /// (what was written goes first). Its backend connection is dropped.
        case cut
        /// Close the connection; no exchange is in progress.
        case close
    }

    /// What a response's bytes mean.
    enum ResponseStep: Equatable {
        /// More of the head is to come.
        case none
        /// An interim response (100 Continue and friends): write it, then `continueResponse()`.
        case interim(ByteBuffer)
        /// Write `head` (when the final head is in it: its status is `status`), then `body`. With
        /// `complete`, the response is done: `finishExchange`.
        case forward(head: ByteBuffer?, body: ByteBuffer?, status: Int?, complete: Bool)
        /// Not a response: the backend failed (`reason`), the exchange ends as `step` says.
        case invalid(reason: String, step: Step)
        /// A malformed chunked body: the backend failed, the exchange is cut.
        case broken
    }

    /// What the end of the backend connection means.
    enum UpstreamEnd: Equatable {
        /// No backend connection was attached: nothing.
        case ignored
        /// The close delimited the response: `finishExchange`.
        case responseEnded
        /// A failure. `backendFailure`: what the backend's health learns (nil: a stale pooled connection,
        /// not its fault). Then `step`.
        case failed(backendFailure: String?, step: Step)
    }

    /// What a deadline's passing means.
    struct Expiry: Equatable {
        /// The timeout counted (nil: the deadline no longer mattered).
        var phase: TrafficCounters.TimeoutPhase?
        /// What the backend's health learns, when the backend is at fault.
        var backendFailure: String?
        var step: Step
    }

    /// How an exchange ended with its response complete.
    struct Finish: Equatable {
        var status: Int?
        /// The backend connection may go back to its pool.
        var reuseUpstream: Bool
        /// The client's connection ends with this response.
        var closeClient: Bool
    }

    /// The request in progress.
    struct Request {
        static let empty = Request(
            head: RequestHead(
                start: 0, length: 0, fieldsEnd: 0, method: 0..<0, target: 0..<0, path: 0..<0, isHTTP11: true, host: nil,
                framing: .none, keepAlive: true, isIdempotent: true, isHead: false, forwardedFor: [], droppedLines: []),
            requestBody: BodyTracker(.none), started: .uptimeNanoseconds(0), retries: 0, responseTimeout: .zero)

        var head: RequestHead
        var requestBody: BodyTracker
        /// Body bytes that arrived before a backend connection was at hand.
        var bufferedBody: ByteBuffer?
        /// Request body bytes received so far, for the minimum body rate.
        var bodyBytesReceived = 0
        var started: NIODeadline
        var retries: Int
        /// The pool's `timeouts.response_ms`.
        var responseTimeout: TimeAmount
        /// The backend (index in the pool) of the current attempt; -1 before the first.
        var backend = -1
        /// Backends that failed this request.
        var tried: [Int] = []
        var attempts = 0
        var upstream = Upstream.none
        /// Some body byte reached a backend: the request can no longer be replayed.
        var bodySent = false
        /// Some response byte came back: the request can no longer be replayed.
        var responseBytesSeen = false
        /// Some response byte went to the client: an error answer can no longer replace it.
        var responseForwarded = false
        var responseHeadBuffer: ByteBuffer?
        var response: ResponseHead?
        var responseBody = BodyTracker(.none)
        /// The backend sent more than the response: never reuse that connection.
        var upstreamOutOfStep = false
    }

    /// The process's limits with the listener's timeouts in force (the shell updates it).
    var limits: HTTPLimits
    /// How far the response head may grow (the process's limit, not the listener's).
    let maxResponseHeadBytes: Int
    /// An https listener's `Strict-Transport-Security` line, added to every response head (the shell
    /// sets it per snapshot; nil: none, and heads go as received where nothing else changes).
    var strictTransportSecurity: [UInt8]?
    private(set) var phase = Phase.awaitingHead
    /// The request in progress; meaningful only while `phase == .exchanging` (kept, not optional, so
    /// that its fields change in place).
    private(set) var request = Request.empty
    /// Bytes received and not yet handled: part of a head, or requests pipelined behind the current one.
    private(set) var received: ByteBuffer?
    private(set) var waiting = Waiting.nothing
    /// When `waiting` ends (distantFuture: no deadline).
    private(set) var deadline = NIODeadline.distantFuture
    /// The client half-closed after a complete request: the connection ends with this response.
    private(set) var clientInputClosed = false
    /// The client takes no more bytes for now (its pending output is over the high watermark).
    private(set) var clientBlocked = false
    private let allocator = ByteBufferAllocator()

    init(limits: HTTPLimits) {
        self.limits = limits
        self.maxResponseHeadBytes = limits.maxHeadBytes
    }

    /// Whether the client's bytes should be read now: not while a pipelined request waits for the one
    /// before it, nor while a backend connection is being made (the body would pile up here).
    var wantsClientReads: Bool {
        switch phase {
        // Closing: what still arrives is read and dropped, so that the kernel does not answer it with a
        // reset that could destroy the last response on its way.
        case .closing, .awaitingHead: true
        case .exchanging: received == nil && request.upstream != .connecting
        }
    }

    /// The client's connection ends with the current response.
    var mustCloseClient: Bool {
        guard phase == .exchanging else { return true }
        return !request.head.keepAlive || request.response?.framing == .untilClose || !request.requestBody.isComplete
            || clientInputClosed
    }

    // MARK: The client

    /// The connection opened.
    mutating func opened(now: NIODeadline) {
        arm(.idle, at: now + limits.clientIdleTimeout)
    }

    /// Bytes from the client.
    mutating func clientRead(_ buffer: ByteBuffer, now: NIODeadline) -> Step {
        switch phase {
        case .closing:
            return .none
        case .exchanging where !request.requestBody.isComplete:
            return requestBodyArrived(buffer, now: now)
        case .exchanging, .awaitingHead:
            if (received?.readableBytes ?? 0) > 0 {
                var more = buffer
                received?.writeBuffer(&more)
            } else {
                received = buffer
            }
            // During an exchange, the next request waits (and reads with it, by `wantsClientReads`).
            return phase == .awaitingHead ? nextRequest(now: now) : .none
        }
    }

    /// The client finished sending. After a complete request it still gets the response (then the
    /// connection closes), as curl's and HAProxy's users expect; in any other state it is gone.
    mutating func clientInputEnded() -> Step {
        guard phase != .closing else { return .none }
        if phase == .exchanging, request.requestBody.isComplete {
            clientInputClosed = true
            return .none
        }
        phase = .closing
        return .close
    }

    /// The client's connection closed: an exchange in progress ends unanswered.
    mutating func clientClosed() {
        phase = .closing
        request = .empty
        received = nil
        disarm()
    }

    /// The client's connection crossed its high watermark (false) or fell below its low one (true).
    mutating func clientWritabilityChanged(isWritable: Bool, now: NIODeadline) {
        clientBlocked = !isWritable
        if !isWritable {
            arm(.send, at: now + limits.sendTimeout)
        } else if waiting == .send && phase != .closing {
            // The backend is read again: its silence counts from now (or, between requests, the idle time).
            if phase == .exchanging {
                arm(.response, at: now + request.responseTimeout)
            } else {
                arm(.idle, at: now + limits.clientIdleTimeout)
            }
        }
    }

    /// Takes up what was received after an exchange (or with nothing in progress): the next request's
    /// head, complete or not, or nothing.
    mutating func nextRequest(now: NIODeadline) -> Step {
        guard phase == .awaitingHead else { return .none }
        guard let buffer = received, buffer.readableBytes > 0 else {
            received = nil
            arm(.idle, at: now + limits.clientIdleTimeout)
            return .none
        }
        switch buffer.withUnsafeReadableBytes({ RequestHeadParser.parse($0, limits: limits) }) {
        case .incomplete:
            if waiting != .head { arm(.head, at: now + limits.headTimeout) }
            return .none
        case .rejected(let rejection):
            return reject(rejection)
        case .complete(let head):
            disarm()
            return .route(head, buffer)
        }
    }

    /// Starts the exchange of a routed head (`buffer` holds it from its read index, as `route` gave it).
    mutating func start(_ head: RequestHead, in buffer: ByteBuffer, route: Route, now: NIODeadline) -> Step {
        guard phase == .awaitingHead else { return .none }
        received = nil
        let retries: Int
        let responseTimeout: TimeAmount
        switch route {
        case .refused(let status, let detail, let retryAfter):
            phase = .closing
            disarm()
            return .reject(status: status, detail: detail, retryAfter: retryAfter)
        case .redirectToHTTPS:
            return redirectToHTTPS(head, in: buffer)
        case .pool(let poolRetries, let poolResponseTimeout):
            retries = poolRetries
            responseTimeout = poolResponseTimeout
        }
        phase = .exchanging
        request = Request(
            head: head, requestBody: BodyTracker(head.framing), started: now, retries: retries, responseTimeout: responseTimeout)
        var rest = buffer
        rest.moveReaderIndex(forwardBy: head.length)
        if !request.requestBody.isComplete {
            arm(.body, at: now + limits.bodyTimeout)
            if rest.readableBytes > 0, case .fail(let status, let detail, let keepAlive) = requestBodyArrived(rest, now: now) {
                return .fail(status: status, detail: detail, keepAlive: keepAlive)
            }
        } else if rest.readableBytes > 0 {
            received = rest
        }
        return .dispatch(retry: false)
    }

    /// Answers a request with a redirect to https. A request with a body is answered at once and the
    /// connection closes (its body is read and dropped meanwhile, as on every closing connection): the
    /// client sends it again to the https address, and a body of unknown size is not waited for.
    private mutating func redirectToHTTPS(_ head: RequestHead, in buffer: ByteBuffer) -> Step {
        let keepAlive = head.keepAlive && head.framing == .none
        let connection: HeadWriter.ConnectionField = keepAlive ? (head.isHTTP11 ? .none : .keepAlive) : .close
        let response: ByteBuffer
        do {
            response = try HeadWriter.redirectToHTTPS(head, from: buffer, connection: connection, allocator: allocator)
        } catch {
            phase = .closing
            disarm()
            return .reject(status: 400, detail: "a redirect to https needs a valid Host", retryAfter: nil)
        }
        guard keepAlive else {
            phase = .closing
            disarm()
            return .answer(response, status: 308, keepAlive: false)
        }
        var rest = buffer
        rest.moveReaderIndex(forwardBy: head.length)
        if rest.readableBytes > 0 { received = rest }
        return .answer(response, status: 308, keepAlive: true)
    }

    private mutating func reject(_ rejection: RequestRejection) -> Step {
        phase = .closing
        disarm()
        return .reject(status: rejection.status, detail: rejection.detail, retryAfter: nil)
    }

    /// Request body bytes: forwarded when a backend connection is attached, else kept for it; what
    /// follows the body is the next request, which waits.
    private mutating func requestBodyArrived(_ buffer: ByteBuffer, now: NIODeadline) -> Step {
        var buffer = buffer
        let bodyBytes: Int
        do {
            bodyBytes = try request.requestBody.consume(buffer)
        } catch {
            // A malformed chunked request body: the stream is out of step; answered 400 if nothing was
            // answered yet, and the connection closes either way.
            return endWithError(status: 400, detail: error.reason, keepAlive: false)
        }
        var step = Step.none
        if bodyBytes > 0, var body = buffer.readSlice(length: bodyBytes) {
            request.bodyBytesReceived += bodyBytes
            if case .attached = request.upstream {
                request.bodySent = true
                step = .forwardBody(body)
            } else if request.bufferedBody != nil {
                request.bufferedBody?.writeBuffer(&body)
            } else {
                request.bufferedBody = body
            }
        }
        if buffer.readableBytes > 0 { received = buffer }
        if request.requestBody.isComplete {
            if case .attached = request.upstream, request.response == nil {
                arm(.response, at: now + request.responseTimeout)
            }
        } else if bodyBytes > 0 && request.response == nil {
            armBodyDeadline(now: now)
        }
        return step
    }

    /// The request body's deadline: `bodyTimeout` of silence, or the moment its average rate since the
    /// head falls below `bodyMinRate` (checked once `bodyTimeout` has passed), whichever is first.
    private mutating func armBodyDeadline(now: NIODeadline) {
        var deadline = now + limits.bodyTimeout
        if limits.bodyMinRate > 0 {
            let earned = TimeAmount.nanoseconds(Int64(request.bodyBytesReceived) * 1_000_000_000 / Int64(limits.bodyMinRate))
            let rateDeadline = request.started + max(limits.bodyTimeout, earned)
            if rateDeadline < deadline { deadline = rateDeadline }
        }
        arm(.body, at: deadline)
    }

    // MARK: Attempts

    /// An attempt at `backend` begins (a connection is taken from its pool or made).
    mutating func attempt(backend: Int) {
        guard phase == .exchanging else { return }
        request.backend = backend
        request.attempts += 1
        request.upstream = .connecting
    }

    /// The attempt's connection is at hand (`pooled`: idle in the pool, rather than just made). Returns
    /// the body bytes to write after the request head.
    mutating func attached(pooled: Bool, now: NIODeadline) -> ByteBuffer? {
        guard phase == .exchanging else { return nil }
        request.upstream = .attached(pooled: pooled)
        let body = request.bufferedBody
        if body != nil {
            request.bufferedBody = nil
            request.bodySent = true
        }
        // A pooled connection writes at once: the response wait counts from the request's start.
        if request.requestBody.isComplete { arm(.response, at: (pooled ? request.started : now) + request.responseTimeout) }
        return body
    }

    /// The pool has no backend left to try.
    mutating func noBackend(pool: String) -> Step {
        guard phase == .exchanging else { return .none }
        if request.tried.isEmpty { return endWithError(status: 503, detail: "no healthy backend in pool \(pool)") }
        return endWithError(status: 502, detail: "every backend tried failed (\(request.tried.count))")
    }

    enum ConnectFailure: Equatable {
        case timedOut
        case refused
        /// This process is out of descriptors or ports: no backend's fault, none to retry.
        case localShortage
    }

    /// The attempt's connection could not be made.
    mutating func connectFailed(_ failure: ConnectFailure) -> Step {
        switch failure {
        case .localShortage: endWithError(status: 503, detail: "proxy out of connection resources")
        case .timedOut: retryOrFail(status: 504, detail: "backend connect timeout")
        case .refused: retryOrFail(status: 502, detail: "backend connection failed")
        }
    }

    /// Another attempt when the request can be sent again, else the error. A request whose head reached
    /// a backend is sent again only when its method is idempotent and no body byte went out and no
    /// response byte came back. A pooled connection that turned out closed (`stale`) may be retried on
    /// the same backend and does not use up a retry.
    private mutating func retryOrFail(status: Int, detail: String, requestSent: Bool = false, stale: Bool = false) -> Step {
        guard phase == .exchanging else { return .none }
        let replayable = !request.responseBytesSeen && !request.bodySent && (!requestSent || request.head.isIdempotent)
        if stale { request.attempts -= 1 }
        guard replayable, request.attempts <= request.retries else {
            return endWithError(status: status, detail: detail)
        }
        if !stale { request.tried.append(request.backend) }
        request.upstream = .none
        request.response = nil
        request.responseHeadBuffer = nil
        return .dispatch(retry: !stale)
    }

    /// Ends the exchange with an error answer, or cuts it when part of the response went out already.
    private mutating func endWithError(status: Int, detail: String, keepAlive: Bool = true) -> Step {
        guard phase == .exchanging else { return .none }
        if request.responseForwarded { return cut() }
        let keepAlive = keepAlive && request.head.keepAlive && request.requestBody.isComplete && !clientInputClosed
        endRequest()
        phase = keepAlive ? .awaitingHead : .closing
        return .fail(status: status, detail: detail, keepAlive: keepAlive)
    }

    /// Ends the exchange with its response cut short.
    private mutating func cut() -> Step {
        endRequest()
        phase = .closing
        return .cut
    }

    /// Lets go of what the request held (its buffers), and of its deadline.
    private mutating func endRequest() {
        request.bufferedBody = nil
        request.responseHeadBuffer = nil
        disarm()
    }

    // MARK: The backend

    /// Bytes from the backend connection.
    mutating func upstreamRead(_ buffer: ByteBuffer, now: NIODeadline) -> ResponseStep {
        guard phase == .exchanging, case .attached = request.upstream else { return .none }
        request.responseBytesSeen = true
        guard request.response == nil else { return forwardBody(buffer, head: nil, status: nil, now: now) }
        if var partial = request.responseHeadBuffer {
            request.responseHeadBuffer = nil
            var more = buffer
            partial.writeBuffer(&more)
            return responseHead(partial, now: now)
        }
        return responseHead(buffer, now: now)
    }

    /// Goes on with the bytes that followed an interim response.
    mutating func continueResponse(now: NIODeadline) -> ResponseStep {
        guard phase == .exchanging, let partial = request.responseHeadBuffer else { return .none }
        request.responseHeadBuffer = nil
        return responseHead(partial, now: now)
    }

    private mutating func responseHead(_ buffer: ByteBuffer, now: NIODeadline) -> ResponseStep {
        var buffer = buffer
        let isHead = request.head.isHead
        let maxHead = maxResponseHeadBytes
        switch buffer.withUnsafeReadableBytes({ ResponseHeadParser.parse($0, requestIsHead: isHead, maxHeadBytes: maxHead) }) {
        case .incomplete:
            request.responseHeadBuffer = buffer
            return .none
        case .invalid(let why):
            return .invalid(reason: "invalid response: \(why)", step: endWithError(status: 502, detail: "invalid response from backend"))
        case .complete(let response) where response.isInterim:
            let interim = buffer.readSlice(length: response.length) ?? ByteBuffer()
            if buffer.readableBytes > 0 { request.responseHeadBuffer = buffer }
            request.responseForwarded = true
            return .interim(interim)
        case .complete(let response):
            request.response = response
            request.responseBody = BodyTracker(response.framing)
            request.responseForwarded = true
            if !clientBlocked { arm(.response, at: now + request.responseTimeout) }
            let connection: HeadWriter.ConnectionField = mustCloseClient ? .close : (request.head.isHTTP11 ? .none : .keepAlive)
            if let rewritten = HeadWriter.response(
                response, from: buffer, connection: connection, strictTransportSecurity: strictTransportSecurity, allocator: allocator)
            {
                buffer.moveReaderIndex(forwardBy: response.length)
                return forwardBody(buffer, head: rewritten, status: response.status, now: now)
            }
            // The head goes as received: when the buffer holds exactly this whole response, one write.
            var body = buffer
            body.moveReaderIndex(forwardBy: response.length)
            let bodyBytes: Int
            do {
                bodyBytes = try request.responseBody.consume(body)
            } catch {
                return brokenResponse()
            }
            if bodyBytes < body.readableBytes {
                request.upstreamOutOfStep = true
                buffer = buffer.getSlice(at: buffer.readerIndex, length: response.length + bodyBytes) ?? buffer
            }
            return .forward(head: buffer, body: nil, status: response.status, complete: request.responseBody.isComplete)
        }
    }

    private mutating func forwardBody(_ buffer: ByteBuffer, head: ByteBuffer?, status: Int?, now: NIODeadline) -> ResponseStep {
        var buffer = buffer
        let bodyBytes: Int
        do {
            bodyBytes = try request.responseBody.consume(buffer)
        } catch {
            return brokenResponse()
        }
        if bodyBytes < buffer.readableBytes { request.upstreamOutOfStep = true }
        let body = bodyBytes > 0 ? buffer.readSlice(length: bodyBytes) : nil
        let complete = request.responseBody.isComplete
        if !complete && waiting == .response { arm(.response, at: now + request.responseTimeout) }
        return .forward(head: head, body: body, status: status, complete: complete)
    }

    private mutating func brokenResponse() -> ResponseStep {
        _ = cut()
        return .broken
    }

    /// The backend connection ended (closed, or its input did).
    mutating func upstreamClosed() -> UpstreamEnd {
        guard phase == .exchanging, case .attached(let pooled) = request.upstream else { return .ignored }
        request.upstream = .none
        // The close is the end of a response delimited by it, and a failure in every other case.
        if request.response?.framing == .untilClose { return .responseEnded }
        if request.response != nil {
            return .failed(backendFailure: "connection closed mid-response", step: cut())
        }
        // A pooled connection the backend had closed meanwhile is not the backend's failure.
        let stale = pooled && !request.responseBytesSeen
        return .failed(
            backendFailure: stale ? nil : "connection closed before a response",
            step: retryOrFail(status: 502, detail: "backend closed the connection", requestSent: true, stale: stale))
    }

    /// The response is complete: the exchange ends; `nextRequest` goes on unless the client's
    /// connection closes.
    mutating func finishExchange() -> Finish {
        guard phase == .exchanging else { return Finish(status: nil, reuseUpstream: false, closeClient: true) }
        let finish = Finish(
            status: request.response?.status,
            reuseUpstream: request.response?.reusable == true && request.requestBody.isComplete && !request.upstreamOutOfStep,
            closeClient: mustCloseClient)
        endRequest()
        phase = finish.closeClient ? .closing : .awaitingHead
        return finish
    }

    // MARK: Time

    /// The deadline passed. `upstreamWritable`: whether the backend connection takes bytes (a body
    /// that stalls because the backend stopped reading it is the backend's fault).
    mutating func deadlineReached(upstreamWritable: Bool) -> Expiry {
        let what = waiting
        disarm()
        switch (phase, what) {
        case (_, .nothing):
            return Expiry(step: .none)
        case (.closing, .send):
            // The connection was ending, but its client does not take the last bytes.
            return Expiry(phase: .clientSend, step: .close)
        case (.closing, _):
            return Expiry(step: .none)
        case (_, .idle):
            phase = .closing
            return Expiry(phase: .clientIdle, step: .close)
        case (_, .head):
            return Expiry(phase: .clientHead, step: reject(.headTimeout))
        case (.awaitingHead, .send):
            phase = .closing
            return Expiry(phase: .clientSend, step: .close)
        case (.awaitingHead, _):
            return Expiry(step: .none)
        case (.exchanging, .body):
            // A body that completed while a backend connection was still being made: the connect has its own timer.
            guard !request.requestBody.isComplete else { return Expiry(step: .none) }
            if case .attached = request.upstream, !upstreamWritable {
                return Expiry(
                    phase: .backendBody, backendFailure: "stopped reading the request body",
                    step: endWithError(status: 504, detail: "backend stopped reading the request body"))
            }
            return Expiry(phase: .clientBody, step: endWithError(status: 408, detail: "request body not received in time"))
        case (.exchanging, .send):
            // The client stopped reading: what it has not taken is dropped with the connection.
            return Expiry(phase: .clientSend, step: cut())
        case (.exchanging, .response):
            guard case .attached = request.upstream else { return Expiry(step: .none) }
            if request.response == nil {
                return Expiry(
                    phase: .backendResponse, backendFailure: "response timeout",
                    step: endWithError(status: 504, detail: "backend response timeout"))
            }
            // The backend stalled mid-body: the client can only learn it by a closed connection.
            return Expiry(phase: .backendBody, backendFailure: "response body timeout", step: cut())
        }
    }

    private mutating func arm(_ what: Waiting, at deadline: NIODeadline) {
        waiting = what
        self.deadline = deadline
    }

    private mutating func disarm() {
        waiting = .nothing
        deadline = .distantFuture
    }
}
