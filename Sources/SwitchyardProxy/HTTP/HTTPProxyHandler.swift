import Foundation
import NIOCore
import SwitchyardCore
import SwitchyardIO

/// One client connection of an HTTP listener. Bytes are forwarded as received; only the framing is
/// followed (request head for routing and limits, body length or chunks, response head and body), so a
/// request costs no typed HTTP parts, no header dictionaries and no futures once a pooled backend
/// connection is at hand. Requests on one connection are handled in order (pipelined ones wait, with
/// reads paused, until the response before them is done).
final class HTTPProxyHandler: SocketConnectionDelegate, UpstreamOwner, DeadlineTimerOwner {
    /// What the connection's one deadline is for (docs/proxy.md, "Timeouts").
    private enum Waiting {
        /// Nothing: a connect in progress has its own timer.
        case nothing
        /// Between requests on a kept-alive connection.
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

    /// The request in progress. A class, so that the many steps of an exchange share it without
    /// copying (and retaining) its references; one instance per connection is reused.
    private final class Exchange {
        var head: RequestHead
        /// The head as the backend gets it; kept until a response byte arrives, for retries.
        var forwardHead: ByteBuffer
        /// Body bytes that arrived before a backend connection was at hand.
        var bufferedBody: ByteBuffer?
        var requestBody: BodyTracker
        var balancer: PoolBalancer
        var backend = -1
        var tried: [Int] = []
        var attempts = 0
        var upstream: UpstreamConnection?
        var upstreamWasPooled = false
        /// Some body byte reached a backend: the request can no longer be replayed.
        var bodySent = false
        var responseBytesSeen = false
        var responseHeadBuffer: ByteBuffer?
        var response: ResponseHead?
        var responseBody = BodyTracker(.none)
        /// The backend sent more than the response: never reuse that connection.
        var upstreamOutOfStep = false
        var started: NIODeadline
        /// Request body bytes received so far, for the minimum body rate.
        var bodyBytesReceived = 0
        /// The pool's `timeouts.response_ms`, read once per exchange.
        var responseTimeout: TimeAmount

        init(head: RequestHead, forwardHead: ByteBuffer, balancer: PoolBalancer, started: NIODeadline) {
            self.head = head
            self.forwardHead = forwardHead
            self.requestBody = BodyTracker(head.framing)
            self.balancer = balancer
            self.started = started
            self.responseTimeout = .milliseconds(Int64(balancer.pool.spec.timeouts.responseMs))
        }

        /// Makes this instance the next request's exchange (`forwardHead` is rewritten by the caller,
        /// reusing its storage).
        func reset(head: RequestHead, balancer: PoolBalancer, started: NIODeadline) {
            self.head = head
            bufferedBody = nil
            requestBody = BodyTracker(head.framing)
            self.balancer = balancer
            backend = -1
            tried.removeAll(keepingCapacity: true)
            attempts = 0
            upstream = nil
            upstreamWasPooled = false
            bodySent = false
            responseBytesSeen = false
            responseHeadBuffer = nil
            response = nil
            responseBody = BodyTracker(.none)
            upstreamOutOfStep = false
            bodyBytesReceived = 0
            responseTimeout = .milliseconds(Int64(balancer.pool.spec.timeouts.responseMs))
            self.started = started
        }

        /// Drops what the finished exchange holds (buffers, the connection) so that it is not kept alive.
        func release() {
            upstream = nil
            bufferedBody = nil
            responseHeadBuffer = nil
        }
    }

    private let worker: ProxyWorker
    private let listenerName: String
    private let listenerCounters: TrafficCounters
    private let clientIP: String
    private let clientKey: [UInt8]
    private let connection: SocketConnection
    /// Bytes received and not yet handled: a partial head, or requests pipelined behind the current one.
    private var received: ByteBuffer?
    private var exchange: Exchange?
    /// The previous exchange's object, reused for the next request.
    private var spareExchange: Exchange?
    private var exchangeNumber = 0
    /// The snapshot generation `listener` and `defaultBalancer` were resolved for.
    private var routingGeneration: Int64 = -1
    private var listener: RuntimeListener?
    private var defaultBalancer: PoolBalancer?
    /// Whether the listener (as of `routingGeneration`) trusts this client's forwarding fields.
    private var clientIsTrusted = false
    /// The listener's per-client request rate limit, if it has one (as of `routingGeneration`).
    private var requestLimiter: ClientRateLimiter?
    /// Reads wait: for the current response (pipelining) or for a backend connection.
    private var readsHeld = false
    private var closing = false
    /// The client half-closed after a complete request: the connection ends with this response.
    private var clientInputClosed = false
    private var waiting = Waiting.nothing
    private var timer: DeadlineTimer!
    /// The process's limits with the listener's timeouts in force, as of `routingGeneration`.
    private var limits: HTTPLimits

    /// The connection caps this connection holds a place in, until it closes.
    private let gate: ConnectionGate

    init(connection: SocketConnection, worker: ProxyWorker, listenerName: String, clientIP: String, clientKey: [UInt8], gate: ConnectionGate) {
        self.connection = connection
        self.gate = gate
        self.worker = worker
        self.listenerName = listenerName
        self.listenerCounters = worker.shared.metrics.listener(listenerName)
        self.clientIP = clientIP
        self.clientKey = clientKey
        self.limits = worker.shared.limits
        self.timer = DeadlineTimer(loop: connection.loop, owner: self)
    }

    /// Whether the client can take more bytes (the connection tracks its pending output).
    var clientIsWritable: Bool { connection.isWritable }
    /// Written to the client since the last flush.
    private var clientNeedsFlush = false
    /// Between a client read and the end of its batch (`channelReadComplete` flushes both sides).
    private var inClientReadBatch = false
    private let allocator = ByteBufferAllocator()

    // MARK: Client side

    /// Takes the connection over (it keeps this handler until it closes).
    func start() {
        connection.delegate = self
        listenerCounters.connectionOpened()
        followSnapshot()
        arm(.idle, after: limits.clientIdleTimeout)
    }

    func connectionClosed(error: (any Error)?) {
        listenerCounters.connectionClosed()
        gate.leave()
        closing = true
        timer.cancel()
        if exchange != nil {
            // The client left mid-exchange: the backend connection is in an unknown state.
            abandonUpstream()
            finishCounters(status: nil)
            exchange = nil
        }
    }

    /// A client that stopped sending after a complete request still gets its response (then the
    /// connection closes), as curl's and HAProxy's users expect; in any other state it is gone.
    func connectionInputClosed() {
        if let exchange, exchange.requestBody.isComplete {
            clientInputClosed = true
            return
        }
        closing = true
        connection.close()
    }

    func connectionRead(_ buffer: ByteBuffer) {
        guard !closing else { return }
        inClientReadBatch = true
        if exchange != nil, exchange?.requestBody.isComplete == false {
            forwardRequestBody(buffer)
        } else {
            if received == nil || received!.readableBytes == 0 {
                received = buffer
            } else {
                var merged = buffer
                received!.writeBuffer(&merged)
            }
            if exchange == nil {
                processReceived()
            } else {
                // The next request waits for the current response; stop reading until then.
                holdReads()
            }
        }
    }

    func connectionReadComplete() {
        inClientReadBatch = false
        exchange?.upstream?.flush()
        flushClient()
    }

    /// Writes to the client without flushing; the flush comes at the end of the read batch.
    @inline(__always)
    private func writeToClient(_ buffer: ByteBuffer) {
        clientNeedsFlush = true
        connection.write(buffer)
    }

    private func flushClient() {
        guard clientNeedsFlush else { return }
        clientNeedsFlush = false
        connection.flush()
    }

    func connectionWritabilityChanged(isWritable: Bool) {
        if isWritable {
            exchange?.upstream?.resumeReads()
            // The backend is read again: its silence counts from now (or, between requests, the idle time).
            if waiting == .send {
                if exchange == nil { arm(.idle, after: limits.clientIdleTimeout) } else { arm(.response, after: responseTimeout) }
            }
        } else {
            exchange?.upstream?.pauseReads()
            arm(.send, after: limits.sendTimeout)
        }
    }

    /// The pool's `timeouts.response_ms`: the longest silence of the backend while a response is due.
    private var responseTimeout: TimeAmount {
        exchange?.responseTimeout ?? .seconds(30)
    }

    private func holdReads() {
        readsHeld = true
        connection.pauseReads()
    }

    /// Reads again, unless the backend connection cannot take more (its writability resumes them).
    private func resumeReads() {
        readsHeld = false
        if exchange?.upstream.map({ !$0.isWritable }) ?? false { return }
        connection.resumeReads()
    }

    /// Parses what was received: waits for more, refuses, or starts the next exchange.
    private func processReceived(now: NIODeadline? = nil) {
        guard let buffer = received, buffer.readableBytes > 0 else {
            received = nil
            resumeReads()
            arm(.idle, after: limits.clientIdleTimeout, now: now)
            return
        }
        switch buffer.withUnsafeReadableBytes({ RequestHeadParser.parse($0, limits: limits) }) {
        case .incomplete:
            if waiting != .head { arm(.head, after: limits.headTimeout) }
            resumeReads()
        case .rejected(let rejection):
            reject(rejection)
        case .complete(let head):
            waiting = .nothing
            startExchange(head, buffer: buffer)
        }
    }

    private func reject(_ rejection: RequestRejection) {
        listenerCounters.answered(status: rejection.status)
        respondAndClose(status: rejection.status, detail: rejection.detail)
    }

    /// The pool a request goes to, from the listener as the current snapshot has it. The common case
    /// (a listener without routes) is resolved once per snapshot, not per request.
    private func balancer(for head: RequestHead, in buffer: ByteBuffer) -> PoolBalancer?? {
        followSnapshot()
        guard let listener else { return .none }
        if listener.routes.isEmpty {
            if let defaultBalancer {
                worker.refreshHealth(of: defaultBalancer)
                return defaultBalancer
            }
            defaultBalancer = listener.spec.defaultPool.flatMap(worker.balancer(for:))
            return .some(defaultBalancer)
        }
        let (host, path) = buffer.withUnsafeReadableBytes { bytes in
            (
                head.host.map { String(decoding: UnsafeRawBufferPointer(rebasing: bytes[$0]), as: UTF8.self) },
                head.path.isEmpty ? "/" : String(decoding: UnsafeRawBufferPointer(rebasing: bytes[head.path]), as: UTF8.self)
            )
        }
        return .some(listener.pool(host: host, path: path).flatMap(worker.balancer(for:)))
    }

    /// Takes the listener (routes, trust, timeouts) from the snapshot in force, when it changed.
    private func followSnapshot() {
        let generation = worker.shared.box.generation
        guard generation != routingGeneration else { return }
        routingGeneration = generation
        listener = worker.currentConfig().listeners[listenerName]
        defaultBalancer = nil
        clientIsTrusted = listener.map { listener in IPAddress(bytes: clientKey).map(listener.trusts) ?? false } ?? false
        limits = listener.map { worker.shared.limits.overridden(by: $0.spec.timeouts) } ?? worker.shared.limits
        requestLimiter = listener.flatMap { worker.shared.rateLimiters.limiter(for: listenerName, $0.spec.rateLimit) }
        if requestLimiter?.limitsRequests == false { requestLimiter = nil }
    }

    private func startExchange(_ head: RequestHead, buffer: ByteBuffer) {
        guard let resolved = balancer(for: head, in: buffer) else {
            listenerCounters.answered(status: 503)
            respondAndClose(status: 503, detail: "listener \(listenerName) was removed")
            return
        }
        guard let balancer = resolved else {
            listenerCounters.answered(status: 503)
            respondAndClose(status: 503, detail: "no route for this request")
            return
        }
        if let requestLimiter, let retryAfter = requestLimiter.admitRequest(ClientRateLimiter.clientKey(clientKey)) {
            listenerCounters.requestRateLimited()
            listenerCounters.answered(status: 429)
            closeAfter(
                ProxyErrorResponse.make(
                    status: 429, detail: "too many requests from this client", close: true, retryAfter: retryAfter, allocator: allocator))
            return
        }
        listenerCounters.requestStarted()
        balancer.counters.requestStarted()
        var rest = buffer
        rest.moveReaderIndex(forwardBy: head.length)
        received = nil
        exchangeNumber &+= 1
        let started = NIODeadline.now()
        let current: Exchange
        if let spare = spareExchange {
            spare.reset(head: head, balancer: balancer, started: started)
            current = spare
            spareExchange = nil
        } else {
            current = Exchange(head: head, forwardHead: allocator.buffer(capacity: 0), balancer: balancer, started: started)
        }
        // The previous request's head buffer, already sent: rewritten in place, no allocation.
        HeadWriter.request(head, from: buffer, clientIP: clientIP, scheme: "http", trusted: clientIsTrusted, into: &current.forwardHead)
        exchange = current
        if !current.requestBody.isComplete { arm(.body, after: limits.bodyTimeout, now: started) }
        if rest.readableBytes > 0 {
            if current.requestBody.isComplete {
                received = rest
                holdReads()
            } else {
                forwardRequestBody(rest)
            }
        }
        dispatch()
    }

    /// Sends the request to a backend chosen now (first attempt or retry).
    private func dispatch() {
        guard let exchange else { return }
        if exchange.attempts > 0, let current = worker.balancer(for: exchange.balancer.pool.name) {
            // A retry: the failure may just have changed who is healthy.
            exchange.balancer = current
        }
        guard let index = exchange.balancer.pick(clientKey: clientKey, excluding: exchange.tried) else {
            if exchange.tried.isEmpty {
                failExchange(status: 503, detail: "no healthy backend in pool \(exchange.balancer.pool.name)")
            } else {
                failExchange(status: 502, detail: "every backend tried failed (\(exchange.tried.count))")
            }
            return
        }
        exchange.backend = index
        exchange.attempts += 1
        let slot = exchange.balancer.slots[index]
        let timeouts = exchange.balancer.pool.spec.timeouts
        if let upstream = slot.checkoutIdle(now: exchange.started, maxIdle: .milliseconds(Int64(timeouts.idleMs))) {
            attach(upstream, pooled: true)
            return
        }
        holdReads()
        let number = exchangeNumber
        UpstreamConnector.connect(slot, on: connection.loop, timeout: .milliseconds(Int64(timeouts.connectMs))) { [self] result in
            guard number == exchangeNumber, !closing, self.exchange?.upstream == nil else {
                if case .success(let upstream) = result { slot.checkin(upstream, now: .now()) }
                return
            }
            switch result {
            case .success(let upstream):
                attach(upstream, pooled: false)
                resumeReads()
            case .failure(let error):
                if let error = error as? SocketError, error.isLocalResourceShortage {
                    // This process is out of descriptors or ports: no backend's fault, none to retry.
                    failExchange(status: 503, detail: "proxy out of connection resources")
                    return
                }
                let timedOut = error is ConnectTimeoutError
                if timedOut { listenerCounters.timedOut(.backendConnect) }
                backendFailed(slot, reason: timedOut ? "connect timeout" : "connect failed: \(error)")
                retryOrFail(status: timedOut ? 504 : 502, detail: timedOut ? "backend connect timeout" : "backend connection failed")
            }
        }
    }

    private func attach(_ upstream: UpstreamConnection, pooled: Bool) {
        guard let exchange else { return }
        upstream.owner = self
        exchange.upstream = upstream
        exchange.upstreamWasPooled = pooled
        let slot = exchange.balancer.slots[exchange.backend]
        slot.inFlight += 1
        slot.counters.requestStarted()
        upstream.write(exchange.forwardHead)
        if let body = exchange.bufferedBody {
            upstream.write(body)
            exchange.bufferedBody = nil
            exchange.bodySent = true
        }
        // Inside the client's read batch, its end flushes; otherwise (a connect or a retry) flush now.
        if !inClientReadBatch { upstream.flush() }
        if exchange.requestBody.isComplete { arm(.response, after: responseTimeout, now: pooled ? exchange.started : nil) }
    }

    private func forwardRequestBody(_ buffer: ByteBuffer) {
        var buffer = buffer
        let bodyBytes: Int
        do {
            bodyBytes = try exchange!.requestBody.consume(buffer)
        } catch {
            // A malformed chunked request body: the stream is out of step; answer 400 if nothing
            // was answered yet, and close either way.
            if exchange?.responseBytesSeen == true {
                cutExchange()
            } else {
                abandonUpstream()
                finishCounters(status: 400)
                exchange = nil
                respondAndClose(status: 400, detail: error.reason)
            }
            return
        }
        let body = buffer.readSlice(length: bodyBytes)!
        if buffer.readableBytes > 0 {
            // The next request, pipelined: it waits.
            received = buffer
            holdReads()
        }
        if bodyBytes > 0 {
            exchange!.bodyBytesReceived += bodyBytes
            if !exchange!.requestBody.isComplete && exchange!.response == nil { armBodyDeadline(exchange!) }
            if let upstream = exchange!.upstream {
                upstream.write(body)
                exchange!.bodySent = true
            } else if exchange!.bufferedBody == nil {
                exchange!.bufferedBody = body
            } else {
                var body = body
                exchange!.bufferedBody!.writeBuffer(&body)
            }
        }
        if exchange!.requestBody.isComplete, exchange!.upstream != nil, exchange!.response == nil {
            arm(.response, after: responseTimeout)
        }
    }

    /// The request body's deadline: `bodyTimeout` of silence, or the moment its average rate since
    /// the head falls below `bodyMinRate` (checked once `bodyTimeout` has passed), whichever is first.
    private func armBodyDeadline(_ exchange: Exchange) {
        let now = NIODeadline.now()
        var deadline = now + limits.bodyTimeout
        if limits.bodyMinRate > 0 {
            let earned = TimeAmount.nanoseconds(Int64(exchange.bodyBytesReceived) * 1_000_000_000 / Int64(limits.bodyMinRate))
            let rateDeadline = exchange.started + max(limits.bodyTimeout, earned)
            if rateDeadline < deadline { deadline = rateDeadline }
        }
        waiting = .body
        timer.set(deadline)
    }

    // MARK: Backend side

    func upstreamRead(_ buffer: ByteBuffer) {
        guard let exchange else { return }
        exchange.responseBytesSeen = true
        if exchange.response == nil {
            readResponseHead(buffer, exchange)
        } else {
            forwardResponseBody(buffer, exchange)
        }
    }

    private func readResponseHead(_ buffer: ByteBuffer, _ exchange: Exchange) {
        var head: ByteBuffer
        if var partial = exchange.responseHeadBuffer {
            var more = buffer
            partial.writeBuffer(&more)
            head = partial
        } else {
            head = buffer
        }
        let isHead = exchange.head.isHead
        let maxHead = worker.shared.limits.maxHeadBytes
        while true {
            switch head.withUnsafeReadableBytes({ ResponseHeadParser.parse($0, requestIsHead: isHead, maxHeadBytes: maxHead) }) {
            case .incomplete:
                exchange.responseHeadBuffer = head
                return
            case .invalid(let why):
                let slot = exchange.balancer.slots[exchange.backend]
                abandonUpstream()
                backendFailed(slot, reason: "invalid response: \(why)")
                failExchange(status: 502, detail: "invalid response from backend")
                return
            case .complete(let response) where response.isInterim:
                // 100 Continue and friends go to the client as they are; the final response follows.
                writeToClient(head.readSlice(length: response.length)!)
                if head.readableBytes == 0 {
                    exchange.responseHeadBuffer = nil
                    return
                }
            case .complete(let response):
                exchange.responseHeadBuffer = nil
                startResponse(response, buffer: head, exchange)
                return
            }
        }
    }

    private func startResponse(_ response: ResponseHead, buffer: ByteBuffer, _ exchange: Exchange) {
        exchange.response = response
        if connection.isWritable { arm(.response, after: responseTimeout) }
        exchange.responseBody = BodyTracker(response.framing)
        let slot = exchange.balancer.slots[exchange.backend]
        if response.status >= 500 {
            worker.shared.health.requestFailed(slot.key, reason: "status \(response.status)")
        } else {
            worker.shared.health.requestSucceeded(slot.key)
        }
        let connection: HeadWriter.ConnectionField =
            mustCloseClient ? .close : (exchange.head.isHTTP11 ? .none : .keepAlive)
        if let rewritten = HeadWriter.response(response, from: buffer, connection: connection, allocator: allocator) {
            writeToClient(rewritten)
            var body = buffer
            body.moveReaderIndex(forwardBy: response.length)
            forwardResponseBody(body, exchange)
            return
        }
        // The head goes as received: when the buffer holds exactly this whole response, one write.
        var body = buffer
        body.moveReaderIndex(forwardBy: response.length)
        let bodyBytes: Int
        do {
            bodyBytes = try exchange.responseBody.consume(body)
        } catch {
            brokenResponse(slot)
            return
        }
        if bodyBytes == body.readableBytes {
            writeToClient(buffer)
        } else {
            exchange.upstreamOutOfStep = true
            var buffer = buffer
            writeToClient(buffer.readSlice(length: response.length + bodyBytes)!)
        }
        if exchange.responseBody.isComplete { finishExchange() }
    }

    /// Whether the client connection ends with this response.
    private var mustCloseClient: Bool {
        guard let exchange else { return true }
        return !exchange.head.keepAlive || exchange.response?.framing == .untilClose || !exchange.requestBody.isComplete
            || clientInputClosed
    }

    private func forwardResponseBody(_ buffer: ByteBuffer, _ exchange: Exchange) {
        var buffer = buffer
        let bodyBytes: Int
        do {
            bodyBytes = try exchange.responseBody.consume(buffer)
        } catch {
            brokenResponse(exchange.balancer.slots[exchange.backend])
            return
        }
        if bodyBytes < buffer.readableBytes { exchange.upstreamOutOfStep = true }
        if bodyBytes > 0 { writeToClient(buffer.readSlice(length: bodyBytes)!) }
        if exchange.responseBody.isComplete {
            finishExchange()
        } else if waiting == .response {
            arm(.response, after: responseTimeout)
        }
    }

    /// A malformed chunked response: the client's response is cut; both sides close.
    private func brokenResponse(_ slot: BackendSlot) {
        backendFailed(slot, reason: "malformed chunked response")
        cutExchange()
    }

    func upstreamReadComplete() {
        flushClient()
    }

    func upstreamWritabilityChanged(isWritable: Bool) {
        if isWritable {
            if !readsHeld { connection.resumeReads() }
        } else {
            connection.pauseReads()
        }
    }

    func upstreamInputClosed() {
        // Responses end by framing, or by the close that follows: handled in upstreamClosed.
        exchange?.upstream?.close()
    }

    func upstreamClosed() {
        guard let exchange, exchange.upstream != nil else { return }
        // The close is the end of a response delimited by it, and a failure in every other case.
        let endsResponse = exchange.response?.framing == .untilClose
        let status = endsResponse ? exchange.response?.status : nil
        guard let slot = detachUpstream(status: status, nanoseconds: elapsed(since: exchange.started))?.slot else { return }
        if endsResponse {
            finishExchange()
            return
        }
        if exchange.response != nil {
            // Cut in the middle of the body: all the client can learn is a closed connection.
            backendFailed(slot, reason: "connection closed mid-response")
            cutExchange()
            return
        }
        // A pooled connection the backend had closed meanwhile is not the backend's failure.
        let stale = exchange.upstreamWasPooled && !exchange.responseBytesSeen
        if !stale { worker.shared.health.requestFailed(slot.key, reason: "connection closed before a response") }
        retryOrFail(status: 502, detail: "backend closed the connection", requestSent: true, stale: stale)
    }

    // MARK: Ending exchanges

    /// Another attempt when the request can be sent again, else the error. A request whose head
    /// reached a backend is sent again only when its method is idempotent and no body byte went out
    /// and no response byte came back. A pooled connection that turned out closed (`stale`) may be
    /// retried on the same backend and does not use up a retry.
    private func retryOrFail(status: Int, detail: String, requestSent: Bool = false, stale: Bool = false) {
        guard let exchange else { return }
        let replayable = !exchange.responseBytesSeen && !exchange.bodySent && (!requestSent || exchange.head.isIdempotent)
        if stale { exchange.attempts -= 1 }
        guard replayable, exchange.attempts <= exchange.balancer.pool.spec.retries else {
            failExchange(status: status, detail: detail)
            return
        }
        if !stale {
            exchange.tried.append(exchange.backend)
            exchange.balancer.counters.retried()
            exchange.balancer.slots[exchange.backend].counters.retried()
        }
        exchange.upstream = nil
        exchange.response = nil
        exchange.responseHeadBuffer = nil
        dispatch()
    }

    /// Answers the client with a proxy error for the current exchange.
    private func failExchange(status: Int, detail: String) {
        guard let exchange else { return }
        if exchange.responseBytesSeen {
            // Part of the response went out: an error cannot replace it; the client sees the cut.
            cutExchange()
            return
        }
        abandonUpstream()
        finishCounters(status: status)
        let keepAlive = exchange.head.keepAlive && exchange.requestBody.isComplete && !clientInputClosed
        self.exchange = nil
        let response = ProxyErrorResponse.make(status: status, detail: detail, close: !keepAlive, allocator: allocator)
        if keepAlive {
            connection.write(response)
            connection.flush()
            processReceived()
        } else {
            closeAfter(response)
        }
    }

    /// The response is complete: count it, return the backend connection to the pool, go on.
    private func finishExchange() {
        guard let exchange else { return }
        let status = exchange.response?.status
        let closeClient = mustCloseClient
        let now = NIODeadline.now()
        let nanoseconds = (now - exchange.started).nanoseconds
        if let upstream = detachUpstream(status: status, nanoseconds: nanoseconds) {
            let slot = upstream.slot
            if exchange.response?.reusable == true && exchange.requestBody.isComplete && !exchange.upstreamOutOfStep && slot.accepting
                && upstream.isUsable
            {
                slot.checkin(upstream, now: now)
            } else {
                // Closing ends the backend's read batch early: its end will not flush the client.
                flushClient()
                upstream.close()
            }
        }
        finishCounters(status: status, nanoseconds: nanoseconds)
        exchange.release()
        spareExchange = exchange
        self.exchange = nil
        if closeClient {
            closeAfter(nil)
        } else {
            // The flush comes at the end of the read batch (the backend's, or the client's).
            processReceived(now: now)
        }
    }

    private func finishCounters(status: Int?, nanoseconds: Int64? = nil) {
        guard let exchange else { return }
        let nanoseconds = nanoseconds ?? elapsed(since: exchange.started)
        exchange.balancer.counters.requestFinished(status: status, nanoseconds: nanoseconds)
        listenerCounters.requestFinished(status: status, nanoseconds: nanoseconds)
    }

    /// Takes the backend connection off the current exchange; its slot and counters learn that the
    /// request ended (with `status`, or nil: no response). The caller pools or closes it.
    private func detachUpstream(status: Int?, nanoseconds: Int64) -> UpstreamConnection? {
        guard let exchange, let upstream = exchange.upstream else { return nil }
        exchange.upstream = nil
        upstream.owner = nil
        upstream.slot.inFlight -= 1
        upstream.slot.counters.requestFinished(status: status, nanoseconds: nanoseconds)
        return upstream
    }

    /// Lets go of the backend connection of the current exchange without reusing it.
    private func abandonUpstream() {
        guard let exchange else { return }
        detachUpstream(status: nil, nanoseconds: elapsed(since: exchange.started))?.close()
    }

    /// Ends the current exchange after part of its response went out: the client can only be told
    /// by a closed connection (what was written goes first).
    private func cutExchange() {
        abandonUpstream()
        finishCounters(status: nil)
        exchange = nil
        closing = true
        connection.flush()
        connection.close()
    }

    private func backendFailed(_ slot: BackendSlot, reason: String) {
        slot.counters.failed()
        worker.shared.health.requestFailed(slot.key, reason: reason)
    }

    private func respondAndClose(status: Int, detail: String) {
        closeAfter(ProxyErrorResponse.make(status: status, detail: detail, close: true, allocator: allocator))
    }

    /// Writes `last` (if any), flushes, then closes once it is sent.
    private func closeAfter(_ last: ByteBuffer?) {
        closing = true
        disarm()
        if let last { connection.write(last) }
        connection.closeAfterFlush()
    }

    private func elapsed(since start: NIODeadline) -> Int64 {
        (NIODeadline.now() - start).nanoseconds
    }

    // MARK: Timers

    /// Sets the connection's one deadline (`DeadlineTimer`: moving it later costs no timer), from the
    /// time this turn of the loop began unless `now` is given.
    private func arm(_ what: Waiting, after amount: TimeAmount, now: NIODeadline? = nil) {
        waiting = what
        timer.set((now ?? connection.loop.turnTime) + amount)
    }

    private func disarm() {
        waiting = .nothing
        timer.clear()
    }

    func deadlineReached() {
        guard !closing else { return }
        let what = waiting
        waiting = .nothing
        switch what {
        case .nothing:
            break
        case .idle:
            listenerCounters.timedOut(.clientIdle)
            closing = true
            connection.close()
        case .head:
            listenerCounters.timedOut(.clientHead)
            reject(.headTimeout)
        case .body:
            // A body that completed while a backend connection was still being made: the connect has its own timer.
            guard exchange?.requestBody.isComplete == false else { return }
            if let upstream = exchange?.upstream, !upstream.isWritable {
                // The client's body waits because the backend stopped reading it: the backend's stall.
                listenerCounters.timedOut(.backendBody)
                backendFailed(upstream.slot, reason: "stopped reading the request body")
                failExchange(status: 504, detail: "backend stopped reading the request body")
            } else {
                listenerCounters.timedOut(.clientBody)
                failExchange(status: 408, detail: "request body not received in time")
            }
        case .send:
            // The client stopped reading: what it has not taken is dropped with the connection.
            listenerCounters.timedOut(.clientSend)
            cutExchange()
        case .response:
            guard let exchange, let upstream = exchange.upstream else { return }
            if exchange.response == nil {
                listenerCounters.timedOut(.backendResponse)
                backendFailed(upstream.slot, reason: "response timeout")
                failExchange(status: 504, detail: "backend response timeout")
            } else {
                // The backend stalled mid-body: the client can only learn it by a closed connection.
                listenerCounters.timedOut(.backendBody)
                backendFailed(upstream.slot, reason: "response body timeout")
                cutExchange()
            }
        }
    }
}
