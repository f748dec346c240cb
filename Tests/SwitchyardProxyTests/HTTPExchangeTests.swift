import NIOCore
import Testing

@testable import SwitchyardProxy

/// Every transition of the HTTP exchange's state machine, without sockets: events in, steps out, the
/// time passed in.
@Suite struct HTTPExchangeTests {
    static let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000_000)
    static let limits = HTTPLimits(
        headTimeout: .seconds(10), clientIdleTimeout: .seconds(60), bodyTimeout: .seconds(30), bodyMinRate: 0, sendTimeout: .seconds(60))
    static let pool = HTTPExchange.Route.pool(retries: 1, responseTimeout: .seconds(5))

    /// A machine with `text` received and its head routed to `route`: returns the step of `start`.
    static func started(
        _ text: String, route: HTTPExchange.Route = pool, limits: HTTPLimits = limits, at now: NIODeadline = t0
    ) -> (HTTPExchange, HTTPExchange.Step) {
        var machine = HTTPExchange(limits: limits)
        machine.opened(now: now)
        guard case .route(let head, let buffer) = machine.clientRead(ByteBuffer(string: text), now: now) else {
            Issue.record("no complete head in \(text.debugDescription)")
            return (machine, .none)
        }
        let step = machine.start(head, in: buffer, route: route, now: now)
        return (machine, step)
    }

    /// A machine with a GET sent on a pooled connection to backend 0.
    static func sentGET(_ extraHeader: String = "") -> HTTPExchange {
        var (machine, step) = started("GET / HTTP/1.1\r\nHost: a\r\n\(extraHeader)\r\n")
        #expect(step == .dispatch(retry: false))
        machine.attempt(backend: 0)
        #expect(machine.attached(pooled: true, now: t0) == nil)
        return machine
    }

    static func text(_ buffer: ByteBuffer?) -> String? { buffer.map { String(buffer: $0) } }

    // MARK: Requests

    @Test func aNewConnectionWaitsIdleAndAPartialHeadForItsRest() {
        var machine = HTTPExchange(limits: Self.limits)
        machine.opened(now: Self.t0)
        #expect(machine.waiting == .idle && machine.deadline == Self.t0 + .seconds(60))
        #expect(machine.clientRead(ByteBuffer(string: "GET / HT"), now: Self.t0 + .seconds(1)) == .none)
        #expect(machine.waiting == .head && machine.deadline == Self.t0 + .seconds(11))
        // More of the head does not move the head's deadline.
        #expect(machine.clientRead(ByteBuffer(string: "TP/1.1\r\n"), now: Self.t0 + .seconds(2)) == .none)
        #expect(machine.deadline == Self.t0 + .seconds(11))
        guard case .route(let head, let buffer) = machine.clientRead(ByteBuffer(string: "Host: a\r\n\r\n"), now: Self.t0 + .seconds(3)) else {
            Issue.record("the head is complete")
            return
        }
        #expect(String(buffer: buffer) == "GET / HTTP/1.1\r\nHost: a\r\n\r\n" && head.length == buffer.readableBytes)
        #expect(machine.waiting == .nothing && machine.wantsClientReads)
    }

    @Test func aBadHeadIsRejectedAndTheConnectionCloses() {
        var machine = HTTPExchange(limits: Self.limits)
        machine.opened(now: Self.t0)
        let step = machine.clientRead(ByteBuffer(string: "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"), now: Self.t0)
        guard case .reject(400, _, nil) = step else {
            Issue.record("\(step)")
            return
        }
        #expect(machine.phase == .closing && machine.deadline == .distantFuture)
        // What still arrives is read and dropped.
        #expect(machine.clientRead(ByteBuffer(string: "more"), now: Self.t0) == .none && machine.wantsClientReads)
    }

    @Test func aRefusedRouteAnswersWithItsStatusAndCloses() {
        let (machine, step) = Self.started(
            "GET / HTTP/1.1\r\nHost: a\r\n\r\n", route: .refused(status: 429, detail: "too many requests", retryAfter: 3))
        #expect(step == .reject(status: 429, detail: "too many requests", retryAfter: 3))
        #expect(machine.phase == .closing)
    }

    @Test func aKeptAliveExchangeEndsWithTheBackendConnectionReusableAndWaitsIdle() {
        var machine = Self.sentGET()
        // A pooled connection: the response wait counts from the request's start.
        #expect(machine.waiting == .response && machine.deadline == Self.t0 + .seconds(5))
        let response = ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        let step = machine.upstreamRead(response, now: Self.t0 + .milliseconds(1))
        // Forwarded as received, in one write.
        #expect(step == .forward(head: response, body: nil, status: 200, complete: true))
        #expect(machine.finishExchange() == HTTPExchange.Finish(status: 200, reuseUpstream: true, closeClient: false))
        #expect(machine.nextRequest(now: Self.t0 + .seconds(1)) == .none)
        #expect(machine.phase == .awaitingHead && machine.waiting == .idle && machine.deadline == Self.t0 + .seconds(61))
    }

    @Test func aResponseInPiecesKeepsTheBackendsSilenceDeadlineMoving() {
        var machine = Self.sentGET()
        let head = machine.upstreamRead(ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nab"), now: Self.t0 + .seconds(1))
        guard case .forward(_, nil, 200, false) = head else {
            Issue.record("\(head)")
            return
        }
        #expect(machine.deadline == Self.t0 + .seconds(6))
        #expect(machine.upstreamRead(ByteBuffer(string: "c"), now: Self.t0 + .seconds(2)) == .forward(head: nil, body: ByteBuffer(string: "c"), status: nil, complete: false))
        #expect(machine.deadline == Self.t0 + .seconds(7))
        // Bytes after the response: the backend is out of step, its connection is not reused.
        #expect(machine.upstreamRead(ByteBuffer(string: "dEXTRA"), now: Self.t0 + .seconds(3)) == .forward(head: nil, body: ByteBuffer(string: "d"), status: nil, complete: true))
        #expect(machine.finishExchange().reuseUpstream == false)
    }

    @Test func aResponseHeadIsRewrittenWhenTheClientsConnectionEnds() {
        var machine = Self.sentGET("Connection: close\r\n")
        let step = machine.upstreamRead(ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"), now: Self.t0)
        guard case .forward(let head, let body, 200, true) = step else {
            Issue.record("\(step)")
            return
        }
        #expect(Self.text(head) == "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n" && Self.text(body) == "ok")
        #expect(machine.finishExchange() == HTTPExchange.Finish(status: 200, reuseUpstream: true, closeClient: true))
        #expect(machine.phase == .closing)
    }

    @Test func anInterimResponseGoesFirstThenTheFinalOne() {
        var machine = Self.sentGET()
        let step = machine.upstreamRead(ByteBuffer(string: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n"), now: Self.t0)
        #expect(step == .interim(ByteBuffer(string: "HTTP/1.1 100 Continue\r\n\r\n")))
        let final = machine.continueResponse(now: Self.t0)
        #expect(final == .forward(head: ByteBuffer(string: "HTTP/1.1 204 No Content\r\n\r\n"), body: nil, status: 204, complete: true))
    }

    @Test func anInvalidResponseIsA502AndTheConnectionStays() {
        var machine = Self.sentGET()
        let step = machine.upstreamRead(ByteBuffer(string: "NOT HTTP\r\n\r\n"), now: Self.t0)
        guard case .invalid(_, .fail(502, "invalid response from backend", true)) = step else {
            Issue.record("\(step)")
            return
        }
        #expect(machine.phase == .awaitingHead)
    }

    @Test func anInvalidResponseAfterAnInterimOneCutsTheExchange() {
        var machine = Self.sentGET()
        _ = machine.upstreamRead(ByteBuffer(string: "HTTP/1.1 100 Continue\r\n\r\n"), now: Self.t0)
        #expect(machine.continueResponse(now: Self.t0) == .none)
        let step = machine.upstreamRead(ByteBuffer(string: "NOT HTTP\r\n\r\n"), now: Self.t0)
        #expect(step == .invalid(reason: "invalid response: \(Self.invalidReason("NOT HTTP\r\n\r\n"))", step: .cut))
        #expect(machine.phase == .closing)
    }

    static func invalidReason(_ text: String) -> String {
        let outcome = ByteBuffer(string: text).withUnsafeReadableBytes { ResponseHeadParser.parse($0, requestIsHead: false, maxHeadBytes: 65536) }
        guard case .invalid(let why) = outcome else { return "" }
        return why
    }

    @Test func aMalformedChunkedResponseIsCut() {
        var machine = Self.sentGET()
        let step = machine.upstreamRead(ByteBuffer(string: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"), now: Self.t0)
        #expect(step == .broken && machine.phase == .closing)
    }

    // MARK: Request bodies and pipelining

    @Test func bodyBytesWaitForTheBackendConnectionThenFollowTheHead() {
        var (machine, step) = Self.started("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\n\r\nab")
        #expect(step == .dispatch(retry: false) && machine.waiting == .body && machine.deadline == Self.t0 + .seconds(30))
        machine.attempt(backend: 2)
        // Reads pause while the connection is being made.
        #expect(!machine.wantsClientReads)
        #expect(machine.clientRead(ByteBuffer(string: "cd"), now: Self.t0 + .seconds(1)) == .none)
        #expect(machine.deadline == Self.t0 + .seconds(31))
        #expect(machine.attached(pooled: false, now: Self.t0 + .seconds(2)) == ByteBuffer(string: "abcd"))
        #expect(machine.wantsClientReads && machine.request.bodySent)
        // The body's end starts the response wait.
        #expect(machine.clientRead(ByteBuffer(string: "ef"), now: Self.t0 + .seconds(3)) == .forwardBody(ByteBuffer(string: "ef")))
        #expect(machine.waiting == .response && machine.deadline == Self.t0 + .seconds(8))
    }

    @Test func aPipelinedRequestWaitsForTheResponseBeforeIt() {
        var machine = Self.sentGET()
        #expect(machine.clientRead(ByteBuffer(string: "GET /2 HTTP/1.1\r\nHost: a\r\n\r\n"), now: Self.t0) == .none)
        #expect(!machine.wantsClientReads)
        _ = machine.upstreamRead(ByteBuffer(string: "HTTP/1.1 204 No Content\r\n\r\n"), now: Self.t0)
        _ = machine.finishExchange()
        guard case .route(_, let buffer) = machine.nextRequest(now: Self.t0) else {
            Issue.record("the pipelined request is next")
            return
        }
        #expect(String(buffer: buffer) == "GET /2 HTTP/1.1\r\nHost: a\r\n\r\n")
    }

    @Test func aPipelinedRequestWhoseBodyIsStillToComeIsReadOnceItStarts() {
        var machine = Self.sentGET()
        _ = machine.clientRead(ByteBuffer(string: "POST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nab"), now: Self.t0)
        _ = machine.upstreamRead(ByteBuffer(string: "HTTP/1.1 204 No Content\r\n\r\n"), now: Self.t0)
        _ = machine.finishExchange()
        guard case .route(let head, let buffer) = machine.nextRequest(now: Self.t0) else {
            Issue.record("the pipelined request is next")
            return
        }
        #expect(machine.start(head, in: buffer, route: Self.pool, now: Self.t0) == .dispatch(retry: false))
        machine.attempt(backend: 0)
        #expect(machine.attached(pooled: true, now: Self.t0) == ByteBuffer(string: "ab"))
        // The rest of its body is read.
        #expect(machine.wantsClientReads)
        #expect(machine.clientRead(ByteBuffer(string: "cd"), now: Self.t0) == .forwardBody(ByteBuffer(string: "cd")))
    }

    @Test func aMalformedChunkedBodyIs400AndCloses() {
        let (_, step) = Self.started("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
        guard case .fail(400, _, false) = step else {
            Issue.record("\(step)")
            return
        }
    }

    @Test func theBodyDeadlineFollowsTheMinimumRate() {
        var limits = Self.limits
        limits.bodyMinRate = 100
        var (machine, _) = Self.started("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\n", limits: limits)
        machine.attempt(backend: 0)
        _ = machine.attached(pooled: true, now: Self.t0)
        // 1,000 bytes at 100 B/s earn 10 s: the rate allows less than 30 s of silence only after 30 s.
        _ = machine.clientRead(ByteBuffer(repeating: 0x61, count: 1000), now: Self.t0 + .seconds(20))
        #expect(machine.deadline == Self.t0 + .seconds(30))
        _ = machine.clientRead(ByteBuffer(repeating: 0x61, count: 5000), now: Self.t0 + .seconds(21))
        #expect(machine.deadline == Self.t0 + .seconds(51))
    }

    // MARK: Attempts and retries

    @Test func aFailedConnectIsRetriedOnAnotherBackendWithinThePoolsRetries() {
        var (machine, _) = Self.started("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        machine.attempt(backend: 0)
        #expect(machine.connectFailed(.refused) == .dispatch(retry: true))
        #expect(machine.request.tried == [0])
        machine.attempt(backend: 1)
        #expect(machine.connectFailed(.timedOut) == .fail(status: 504, detail: "backend connect timeout", keepAlive: true))
    }

    @Test func aLocalShortageIsNotRetried() {
        var (machine, _) = Self.started("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        machine.attempt(backend: 0)
        #expect(machine.connectFailed(.localShortage) == .fail(status: 503, detail: "proxy out of connection resources", keepAlive: true))
    }

    @Test func noBackendIs503AtFirstAnd502AfterFailures() {
        var (first, _) = Self.started("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(first.noBackend(pool: "web") == .fail(status: 503, detail: "no healthy backend in pool web", keepAlive: true))
        var (later, _) = Self.started("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        later.attempt(backend: 0)
        _ = later.connectFailed(.refused)
        #expect(later.noBackend(pool: "web") == .fail(status: 502, detail: "every backend tried failed (1)", keepAlive: true))
    }

    @Test func aStalePooledConnectionIsRetriedWithoutUsingARetryOrBlame() {
        var machine = Self.sentGET()
        #expect(machine.upstreamClosed() == .failed(backendFailure: nil, step: .dispatch(retry: false)))
        #expect(machine.request.attempts == 0 && machine.request.tried.isEmpty)
    }

    @Test func aClosedFreshConnectionIsRetriedOnlyForAnIdempotentRequestWithoutBody() {
        var (get, _) = Self.started("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        get.attempt(backend: 0)
        _ = get.attached(pooled: false, now: Self.t0)
        #expect(get.upstreamClosed() == .failed(backendFailure: "connection closed before a response", step: .dispatch(retry: true)))

        var (post, _) = Self.started("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nx")
        post.attempt(backend: 0)
        _ = post.attached(pooled: false, now: Self.t0)
        #expect(
            post.upstreamClosed()
                == .failed(
                    backendFailure: "connection closed before a response",
                    step: .fail(status: 502, detail: "backend closed the connection", keepAlive: true)))
    }

    @Test func aCloseMidResponseCutsAndACloseDelimitedResponseEnds() {
        var cut = Self.sentGET()
        _ = cut.upstreamRead(ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nab"), now: Self.t0)
        #expect(cut.upstreamClosed() == .failed(backendFailure: "connection closed mid-response", step: .cut))
        var ended = Self.sentGET()
        _ = ended.upstreamRead(ByteBuffer(string: "HTTP/1.1 200 OK\r\n\r\nab"), now: Self.t0)
        #expect(ended.upstreamClosed() == .responseEnded)
        #expect(ended.finishExchange() == HTTPExchange.Finish(status: 200, reuseUpstream: false, closeClient: true))
    }

    @Test func aCloseWithoutAnAttachedConnectionIsIgnored() {
        var (machine, _) = Self.started("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        machine.attempt(backend: 0)
        #expect(machine.upstreamClosed() == .ignored)
    }

    // MARK: Client half-close and writability

    @Test func aClientThatHalfClosesAfterItsRequestGetsTheResponseThenTheConnectionEnds() {
        var machine = Self.sentGET()
        #expect(machine.clientInputEnded() == .none && machine.mustCloseClient)
        _ = machine.upstreamRead(ByteBuffer(string: "HTTP/1.1 204 No Content\r\n\r\n"), now: Self.t0)
        #expect(machine.finishExchange().closeClient)
        var idle = HTTPExchange(limits: Self.limits)
        idle.opened(now: Self.t0)
        #expect(idle.clientInputEnded() == .close)
    }

    @Test func aClientThatStopsReadingHasTheSendDeadlineThenTheBackendsAgain() {
        var machine = Self.sentGET()
        machine.clientWritabilityChanged(isWritable: false, now: Self.t0 + .seconds(1))
        #expect(machine.waiting == .send && machine.deadline == Self.t0 + .seconds(61))
        // While it is blocked, response bytes do not move the deadline.
        _ = machine.upstreamRead(ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nab"), now: Self.t0 + .seconds(2))
        #expect(machine.waiting == .send)
        machine.clientWritabilityChanged(isWritable: true, now: Self.t0 + .seconds(3))
        #expect(machine.waiting == .response && machine.deadline == Self.t0 + .seconds(8))
    }

    // MARK: Deadlines

    @Test func eachDeadlineMeansWhatItWaitsFor() {
        var idle = HTTPExchange(limits: Self.limits)
        idle.opened(now: Self.t0)
        #expect(idle.deadlineReached(upstreamWritable: true) == .init(phase: .clientIdle, step: .close))

        var head = HTTPExchange(limits: Self.limits)
        _ = head.clientRead(ByteBuffer(string: "GET"), now: Self.t0)
        #expect(
            head.deadlineReached(upstreamWritable: true)
                == .init(phase: .clientHead, step: .reject(status: 408, detail: "request head not received in time", retryAfter: nil)))

        var (body, _) = Self.started("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9\r\n\r\n")
        #expect(
            body.deadlineReached(upstreamWritable: true)
                == .init(phase: .clientBody, step: .fail(status: 408, detail: "request body not received in time", keepAlive: false)))

        var (stalledBody, _) = Self.started("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9\r\n\r\n")
        stalledBody.attempt(backend: 0)
        _ = stalledBody.attached(pooled: true, now: Self.t0)
        #expect(
            stalledBody.deadlineReached(upstreamWritable: false)
                == .init(
                    phase: .backendBody, backendFailure: "stopped reading the request body",
                    step: .fail(status: 504, detail: "backend stopped reading the request body", keepAlive: false)))

        var response = Self.sentGET()
        #expect(
            response.deadlineReached(upstreamWritable: true)
                == .init(
                    phase: .backendResponse, backendFailure: "response timeout",
                    step: .fail(status: 504, detail: "backend response timeout", keepAlive: true)))

        var responseBody = Self.sentGET()
        _ = responseBody.upstreamRead(ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nab"), now: Self.t0)
        #expect(responseBody.deadlineReached(upstreamWritable: true) == .init(phase: .backendBody, backendFailure: "response body timeout", step: .cut))

        var send = Self.sentGET()
        send.clientWritabilityChanged(isWritable: false, now: Self.t0)
        #expect(send.deadlineReached(upstreamWritable: true) == .init(phase: .clientSend, step: .cut))
    }

    @Test func aClosingConnectionWhoseClientDoesNotReadTimesOut() {
        var machine = HTTPExchange(limits: Self.limits)
        _ = machine.clientRead(ByteBuffer(string: "BAD\r\n\r\n"), now: Self.t0)
        #expect(machine.phase == .closing)
        machine.clientWritabilityChanged(isWritable: false, now: Self.t0)
        #expect(machine.waiting == .send)
        #expect(machine.deadlineReached(upstreamWritable: true) == .init(phase: .clientSend, step: .close))
    }

    @Test func aBodyThatCompletedWhileConnectingLeavesTheConnectTimerInCharge() {
        var (machine, _) = Self.started("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\n")
        machine.attempt(backend: 0)
        _ = machine.clientRead(ByteBuffer(string: "ok"), now: Self.t0)
        #expect(machine.deadlineReached(upstreamWritable: true) == .init(step: .none))
        #expect(machine.phase == .exchanging)
    }

    @Test func nothingHappensAfterTheClientClosed() {
        var machine = Self.sentGET()
        machine.clientClosed()
        #expect(machine.phase == .closing && machine.deadline == .distantFuture)
        #expect(machine.upstreamRead(ByteBuffer(string: "HTTP/1.1 200 OK\r\n\r\n"), now: Self.t0) == .none)
        #expect(machine.upstreamClosed() == .ignored)
        #expect(machine.deadlineReached(upstreamWritable: true) == .init(step: .none))
    }
}
