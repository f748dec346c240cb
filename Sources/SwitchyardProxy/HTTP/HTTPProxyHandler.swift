import Foundation
import NIOCore
import SwitchyardCore
import SwitchyardIO

/// One client connection of an HTTP listener: the I/O shell around `HTTPExchange`, which decides
/// everything of the protocol. Here are the sockets, the snapshot's routes, the pools, health, counters
/// and the timer; each event goes to the machine, and what it returns is carried out. Bytes are
/// forwarded as received; only the framing is followed (request head for routing and limits, body
/// length or chunks, response head and body), so a request costs no typed HTTP parts, no header
/// dictionaries and no futures once a pooled backend connection is at hand.
final class HTTPProxyHandler: SocketConnectionDelegate, UpstreamOwner, DeadlineTimerOwner {
    private let worker: ProxyWorker
    private let listenerName: String
    private let listenerCounters: TrafficCounters
    private let clientIP: String
    private let clientKey: [UInt8]
    private let connection: SocketConnection
    /// The connection caps this connection holds a place in, until it closes.
    private let gate: ConnectionGate
    private let allocator = ByteBufferAllocator()
    private var machine: HTTPExchange
    /// The current exchange's pool (nil once its counters are final).
    private var balancer: PoolBalancer?
    /// The current attempt's backend connection.
    private var upstream: UpstreamConnection?
    /// The head as the backend gets it, kept for retries; its storage is reused by the next request.
    private var forwardHead: ByteBuffer
    /// Tells a connect's completion whether its exchange is still the current one.
    private var exchangeNumber = 0
    /// The snapshot generation `listener` and `defaultBalancer` were resolved for.
    private var routingGeneration: Int64 = -1
    private var listener: RuntimeListener?
    private var defaultBalancer: PoolBalancer?
    /// Whether the listener (as of `routingGeneration`) trusts this client's forwarding fields.
    private var clientIsTrusted = false
    /// The listener's per-client request rate limit, if it has one (as of `routingGeneration`).
    private var requestLimiter: ClientRateLimiter?
    /// The listener answers every request with a redirect to https (as of `routingGeneration`).
    private var redirectsToHTTPS = false
    /// The listener's `hsts_max_age_s` the machine's HSTS line was made for.
    private var hstsMaxAge: Int?
    private lazy var timer = DeadlineTimer(loop: connection.loop, owner: self)
    /// The socket closed: nothing is done any more.
    private var closed = false
    /// Written to the client since the last flush.
    private var clientNeedsFlush = false
    /// Between a client read and the end of its batch (`connectionReadComplete` flushes both sides).
    private var inClientReadBatch = false

    init(connection: SocketConnection, worker: ProxyWorker, listenerName: String, clientIP: String, clientKey: [UInt8], gate: ConnectionGate) {
        self.connection = connection
        self.gate = gate
        self.worker = worker
        self.listenerName = listenerName
        self.listenerCounters = worker.shared.metrics.listener(listenerName)
        self.clientIP = clientIP
        self.clientKey = clientKey
        self.machine = HTTPExchange(limits: worker.shared.limits)
        self.forwardHead = allocator.buffer(capacity: 0)
    }

    /// Whether the client can take more bytes (the connection tracks its pending output).
    var clientIsWritable: Bool { connection.isWritable }

    private var now: NIODeadline { connection.loop.turnTime }

    // MARK: Client side

    /// Takes the connection over (it keeps this handler until it closes).
    func start() {
        connection.delegate = self
        listenerCounters.connectionOpened()
        followSnapshot()
        machine.opened(now: now)
        sync()
    }

    func connectionClosed(error: (any Error)?) {
        listenerCounters.connectionClosed()
        gate.leave()
        closed = true
        timer.cancel()
        if machine.phase == .exchanging {
            // The client left mid-exchange: the backend connection is in an unknown state.
            abandonUpstream()
            finishCounters(status: nil)
        }
        machine.clientClosed()
    }

    func connectionInputClosed() {
        perform(machine.clientInputEnded())
    }

    func connectionRead(_ buffer: ByteBuffer) {
        inClientReadBatch = true
        perform(machine.clientRead(buffer, now: now))
    }

    func connectionReadComplete() {
        inClientReadBatch = false
        upstream?.flush()
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
        if isWritable { upstream?.resumeReads() } else { upstream?.pauseReads() }
        machine.clientWritabilityChanged(isWritable: isWritable, now: now)
        sync()
    }

    /// Follows the machine: its deadline, and whether the client is read (not while the backend
    /// connection cannot take more: its writability resumes them).
    private func sync(upstreamWritable: Bool? = nil) {
        guard !closed else { return }
        timer.set(machine.deadline)
        if machine.wantsClientReads && (upstreamWritable ?? upstream?.isWritable ?? true) {
            connection.resumeReads()
        } else {
            connection.pauseReads()
        }
    }

    /// Carries out what the machine decided, step after step (in a loop, not by recursion: a buffer
    /// of pipelined requests that all fail at once must not deepen the stack).
    private func perform(_ first: HTTPExchange.Step) {
        var step = first
        while true {
            switch step {
            case .none:
                break
            case .route(let head, let buffer):
                step = route(head, in: buffer)
                continue
            case .dispatch(let retry):
                step = dispatch(retry: retry)
                continue
            case .forwardBody(let body):
                upstream?.write(body)
            case .reject(let status, let detail, let retryAfter):
                listenerCounters.answered(status: status)
                closeAfter(
                    ProxyErrorResponse.make(
                        status: status, detail: detail, close: true, retryAfter: retryAfter,
                        strictTransportSecurity: machine.strictTransportSecurity, allocator: allocator))
            case .answer(let response, let status, let keepAlive):
                listenerCounters.answered(status: status)
                guard keepAlive else {
                    closeAfter(response)
                    break
                }
                writeToClient(response)
                // Inside the client's read batch, its end flushes.
                if !inClientReadBatch { flushClient() }
                step = machine.nextRequest(now: now)
                continue
            case .fail(let status, let detail, let keepAlive):
                abandonUpstream()
                finishCounters(status: status)
                let response = ProxyErrorResponse.make(
                    status: status, detail: detail, close: !keepAlive, strictTransportSecurity: machine.strictTransportSecurity,
                    allocator: allocator)
                guard keepAlive else {
                    closeAfter(response)
                    break
                }
                connection.write(response)
                connection.flush()
                step = machine.nextRequest(now: now)
                continue
            case .cut:
                abandonUpstream()
                finishCounters(status: nil)
                connection.flush()
                connection.close()
            case .close:
                connection.close()
            }
            break
        }
        sync()
    }

    /// The pool a request goes to, from the listener as the current snapshot has it (`followSnapshot`
    /// first). The common case (a listener without routes) is resolved once per snapshot, not per request.
    private func balancer(for head: RequestHead, in buffer: ByteBuffer) -> PoolBalancer?? {
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
        machine.limits = listener.map { worker.shared.limits.overridden(by: $0.spec.timeouts) } ?? worker.shared.limits
        requestLimiter = listener.flatMap { worker.shared.rateLimiters.limiter(for: listenerName, $0.spec.rateLimit) }
        if requestLimiter?.limitsRequests == false { requestLimiter = nil }
        redirectsToHTTPS = listener?.spec.redirectHttps == true
        let maxAge = connection.isTLS ? listener?.spec.hstsMaxAgeS : nil
        if maxAge != hstsMaxAge {
            hstsMaxAge = maxAge
            machine.strictTransportSecurity = maxAge.map(HeadWriter.strictTransportSecurityLine(maxAge:))
        }
    }

    /// Routes a complete head (a plain `Route` for the machine), and starts its exchange.
    private func route(_ head: RequestHead, in buffer: ByteBuffer) -> HTTPExchange.Step {
        followSnapshot()
        if redirectsToHTTPS && listener != nil {
            let route: HTTPExchange.Route
            if let requestLimiter, let retryAfter = requestLimiter.admitRequest(ClientRateLimiter.clientKey(clientKey)) {
                listenerCounters.requestRateLimited()
                route = .refused(status: 429, detail: "too many requests from this client", retryAfter: retryAfter)
            } else {
                route = .redirectToHTTPS
            }
            return machine.start(head, in: buffer, route: route, now: now)
        }
        let route: HTTPExchange.Route
        switch balancer(for: head, in: buffer) {
        case .none:
            route = .refused(status: 503, detail: "listener \(listenerName) was removed", retryAfter: nil)
        case .some(.none):
            route = .refused(status: 503, detail: "no route for this request", retryAfter: nil)
        case .some(.some(let found)):
            if let requestLimiter, let retryAfter = requestLimiter.admitRequest(ClientRateLimiter.clientKey(clientKey)) {
                listenerCounters.requestRateLimited()
                route = .refused(status: 429, detail: "too many requests from this client", retryAfter: retryAfter)
            } else {
                route = .pool(retries: found.pool.spec.retries, responseTimeout: .milliseconds(Int64(found.pool.spec.timeouts.responseMs)))
                balancer = found
                listenerCounters.requestStarted()
                found.counters.requestStarted()
                exchangeNumber &+= 1
                // The previous request's head buffer, already sent: rewritten in place, no allocation.
                HeadWriter.request(
                    head, from: buffer, clientIP: clientIP, scheme: connection.isTLS ? "https" : "http", trusted: clientIsTrusted,
                    into: &forwardHead)
            }
        }
        return machine.start(head, in: buffer, route: route, now: NIODeadline.now())
    }

    /// Sends the request to a backend chosen now (first attempt or retry); returns the step that
    /// follows at once (an error when no backend is left).
    private func dispatch(retry: Bool) -> HTTPExchange.Step {
        guard var balancer, machine.phase == .exchanging else { return .none }
        if retry {
            balancer.counters.retried()
            balancer.slots[machine.request.backend].counters.retried()
        }
        if machine.request.attempts > 0, let current = worker.balancer(for: balancer.pool.name) {
            // A retry: the failure may just have changed who is healthy.
            balancer = current
            self.balancer = current
        }
        guard let index = balancer.pick(clientKey: clientKey, excluding: machine.request.tried) else {
            return machine.noBackend(pool: balancer.pool.name)
        }
        machine.attempt(backend: index)
        let slot = balancer.slots[index]
        let timeouts = balancer.pool.spec.timeouts
        if let idle = slot.checkoutIdle(now: machine.request.started, maxIdle: .milliseconds(Int64(timeouts.idleMs))) {
            attach(idle, pooled: true)
            return .none
        }
        let number = exchangeNumber
        UpstreamConnector.connect(slot, on: connection.loop, timeout: .milliseconds(Int64(timeouts.connectMs))) { [self] result in
            guard number == exchangeNumber, !closed, machine.phase == .exchanging, machine.request.upstream == .connecting else {
                if case .success(let upstream) = result { slot.checkin(upstream, now: .now()) }
                return
            }
            switch result {
            case .success(let upstream):
                attach(upstream, pooled: false)
                sync()
            case .failure(let error):
                if let error = error as? SocketError, error.isLocalResourceShortage {
                    // This process is out of descriptors or ports: no backend's fault.
                    perform(machine.connectFailed(.localShortage))
                } else if error is ConnectTimeoutError {
                    listenerCounters.timedOut(.backendConnect)
                    backendFailed(slot, reason: "connect timeout")
                    perform(machine.connectFailed(.timedOut))
                } else {
                    backendFailed(slot, reason: "connect failed: \(error)")
                    perform(machine.connectFailed(.refused))
                }
            }
        }
        return .none
    }

    private func attach(_ attached: UpstreamConnection, pooled: Bool) {
        attached.owner = self
        upstream = attached
        attached.slot.inFlight += 1
        attached.slot.counters.requestStarted()
        attached.write(forwardHead)
        if let body = machine.attached(pooled: pooled, now: now) { attached.write(body) }
        // Inside the client's read batch, its end flushes; otherwise (a connect or a retry) flush now.
        if !inClientReadBatch { attached.flush() }
    }

    // MARK: Backend side

    func upstreamRead(_ buffer: ByteBuffer) {
        var step = machine.upstreamRead(buffer, now: now)
        while case .interim(let interim) = step {
            // 100 Continue and friends go to the client as they are; the final response follows.
            writeToClient(interim)
            step = machine.continueResponse(now: now)
        }
        switch step {
        case .none, .interim:
            break
        case .forward(let head, let body, let status, let complete):
            if let status, let slot = upstream?.slot {
                if status >= 500 {
                    worker.shared.health.requestFailed(slot.key, reason: "status \(status)")
                } else {
                    worker.shared.health.requestSucceeded(slot.key)
                }
            }
            if let head { writeToClient(head) }
            if let body { writeToClient(body) }
            if complete {
                finishExchange()
                return
            }
        case .invalid(let reason, let next):
            if let slot = upstream?.slot { backendFailed(slot, reason: reason) }
            perform(next)
            return
        case .broken:
            if let slot = upstream?.slot { backendFailed(slot, reason: "malformed chunked response") }
            perform(.cut)
            return
        }
        sync()
    }

    func upstreamReadComplete() {
        flushClient()
    }

    func upstreamWritabilityChanged(isWritable: Bool) {
        sync(upstreamWritable: isWritable)
    }

    func upstreamInputClosed() {
        // Responses end by framing, or by the close that follows: handled in upstreamClosed.
        upstream?.close()
    }

    func upstreamClosed() {
        guard upstream != nil else { return }
        let status = machine.request.response?.status
        switch machine.upstreamClosed() {
        case .ignored:
            return
        case .responseEnded:
            detachUpstream(status: status, nanoseconds: elapsed(since: machine.request.started))
            finishExchange()
        case .failed(let failure, let step):
            guard let slot = detachUpstream(status: nil, nanoseconds: elapsed(since: machine.request.started))?.slot else { return }
            if let failure { backendFailed(slot, reason: failure) }
            perform(step)
        }
    }

    // MARK: Ending exchanges

    /// The response is complete: count it, return the backend connection to the pool, go on.
    private func finishExchange() {
        let started = machine.request.started
        let finish = machine.finishExchange()
        let now = NIODeadline.now()
        let nanoseconds = (now - started).nanoseconds
        if let upstream = detachUpstream(status: finish.status, nanoseconds: nanoseconds) {
            let slot = upstream.slot
            if finish.reuseUpstream && slot.accepting && upstream.isUsable {
                slot.checkin(upstream, now: now)
            } else {
                // Closing ends the backend's read batch early: its end will not flush the client.
                flushClient()
                upstream.close()
            }
        }
        finishCounters(status: finish.status, nanoseconds: nanoseconds)
        if finish.closeClient {
            closeAfter(nil)
            sync()
        } else {
            // The flush comes at the end of the read batch (the backend's, or the client's).
            perform(machine.nextRequest(now: now))
        }
    }

    /// The exchange's counters, once: its pool's and the listener's.
    private func finishCounters(status: Int?, nanoseconds: Int64? = nil) {
        guard let balancer else { return }
        self.balancer = nil
        let nanoseconds = nanoseconds ?? elapsed(since: machine.request.started)
        balancer.counters.requestFinished(status: status, nanoseconds: nanoseconds)
        listenerCounters.requestFinished(status: status, nanoseconds: nanoseconds)
    }

    /// Takes the backend connection off the current exchange; its slot and counters learn that the
    /// request ended (with `status`, or nil: no response). The caller pools or closes it.
    @discardableResult
    private func detachUpstream(status: Int?, nanoseconds: Int64) -> UpstreamConnection? {
        guard let upstream else { return nil }
        self.upstream = nil
        upstream.owner = nil
        upstream.slot.inFlight -= 1
        upstream.slot.counters.requestFinished(status: status, nanoseconds: nanoseconds)
        return upstream
    }

    /// Lets go of the backend connection of the current exchange without reusing it.
    private func abandonUpstream() {
        detachUpstream(status: nil, nanoseconds: elapsed(since: machine.request.started))?.close()
    }

    private func backendFailed(_ slot: BackendSlot, reason: String) {
        slot.counters.failed()
        worker.shared.health.requestFailed(slot.key, reason: reason)
    }

    /// Writes `last` (if any), flushes, then closes once it is sent.
    private func closeAfter(_ last: ByteBuffer?) {
        if let last { connection.write(last) }
        connection.closeAfterFlush()
    }

    private func elapsed(since start: NIODeadline) -> Int64 {
        (NIODeadline.now() - start).nanoseconds
    }

    // MARK: Time

    func deadlineReached() {
        guard !closed else { return }
        let expiry = machine.deadlineReached(upstreamWritable: upstream?.isWritable ?? true)
        if let phase = expiry.phase { listenerCounters.timedOut(phase) }
        if let failure = expiry.backendFailure, let slot = upstream?.slot { backendFailed(slot, reason: failure) }
        perform(expiry.step)
    }
}
