import Testing

@testable import SwitchyardProxy

@Suite struct RequestHeadParserTests {
    static let limits = HTTPLimits()

    func parse(_ text: String, limits: HTTPLimits = limits) -> RequestHeadParser.Outcome {
        parse(Array(text.utf8), limits: limits)
    }

    func parse(_ bytes: [UInt8], limits: HTTPLimits = limits) -> RequestHeadParser.Outcome {
        bytes.withUnsafeBytes { RequestHeadParser.parse($0, limits: limits) }
    }

    func head(_ text: String) throws -> RequestHead {
        guard case .complete(let head) = parse(text) else { throw ParseFailed(outcome: "\(parse(text))") }
        return head
    }

    func text(_ range: Range<Int>, in source: String) -> String {
        String(decoding: Array(source.utf8)[range], as: UTF8.self)
    }

    @Test func simpleGet() throws {
        let source = "GET /a/b?q=1 HTTP/1.1\r\nHost: Example.com\r\nAccept: */*\r\n\r\nNEXT"
        let head = try head(source)
        #expect(text(head.method, in: source) == "GET")
        #expect(text(head.path, in: source) == "/a/b")
        #expect(text(head.host!, in: source) == "Example.com")
        #expect(head.framing == .none)
        #expect(head.keepAlive)
        #expect(head.isIdempotent)
        #expect(head.length == source.utf8.count - 4)
        #expect(head.droppedLines.isEmpty)
    }

    @Test func framingAndKeepAlive() throws {
        #expect(try head("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 12\r\n\r\n").framing == .contentLength(12))
        #expect(try head("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n").framing == .none)
        #expect(try head("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 5\r\n\r\n").framing == .contentLength(5))
        #expect(try head("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n").framing == .chunked)
        #expect(try !head("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").keepAlive)
        #expect(try !head("GET / HTTP/1.0\r\n\r\n").keepAlive)
        #expect(try head("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").keepAlive)
        #expect(try !head("POST / HTTP/1.1\r\nHost: x\r\n\r\n").isIdempotent)
        #expect(try head("HEAD / HTTP/1.1\r\nHost: x\r\n\r\n").isHead)
    }

    @Test func hopByHopAndForwardedLinesAreDropped() throws {
        let source =
            "GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, X-Secret\r\nX-Secret: 1\r\nKeep-Alive: 5\r\nUpgrade: h2c\r\n"
            + "X-Forwarded-For: 1.2.3.4\r\nX-Forwarded-Proto: https\r\nTE: trailers\r\nAccept: */*\r\n\r\n"
        let head = try head(source)
        let dropped = head.droppedLines.map { text($0, in: source).split(separator: ":")[0] }
        #expect(dropped == ["Connection", "X-Secret", "Keep-Alive", "Upgrade", "X-Forwarded-For", "X-Forwarded-Proto", "TE"])
        #expect(head.forwardedFor.map { text($0, in: source) } == ["1.2.3.4"])
    }

    @Test func absoluteFormTarget() throws {
        let source = "GET http://example.com/x/y?z HTTP/1.1\r\nHost: Example.COM\r\n\r\n"
        let parsed = try head(source)
        #expect(text(parsed.path, in: source) == "/x/y")
        #expect(text(parsed.absolutePrefix!, in: source) == "http://example.com")
        let noPath = "GET https://example.com?q/r HTTP/1.1\r\nHost: example.com\r\n\r\n"
        #expect(try head(noPath).path.isEmpty)
        // HTTP/1.0 without Host: the authority is the host, and a Host line is added when forwarding.
        let old = "GET http://a.test:81/ HTTP/1.0\r\n\r\n"
        let oldHead = try head(old)
        #expect(text(oldHead.host!, in: old) == "a.test:81" && oldHead.hostFromTarget)
        #expect(try head("OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n").absolutePrefix == nil)
    }

    @Test func incompleteUntilTheEmptyLine() {
        #expect(parse("GET / HTTP/1.1\r\nHost: x\r\n") == .incomplete)
        #expect(parse("GET / HT") == .incomplete)
    }

    @Test(
        "every hardening rule of docs/proxy.md",
        arguments: [
            ("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 4\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 3,x\r\n\r\n", 400),
            // Connection naming a framing or routing field (stripping it would unframe the body).
            ("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: Content-Length\r\n\r\n", 400),
            ("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close, transfer-encoding\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost: x\r\nConnection: HOST\r\n\r\n", 400),
            // Absolute-form targets: the authority must be the Host; http(s) only; no userinfo.
            ("GET http://other.example/ HTTP/1.1\r\nHost: a.test\r\n\r\n", 400),
            ("GET http://a.test:81/ HTTP/1.1\r\nHost: a.test\r\n\r\n", 400),
            ("GET http://user@a.test/ HTTP/1.1\r\nHost: a.test\r\n\r\n", 400),
            ("GET ftp://a.test/ HTTP/1.1\r\nHost: a.test\r\n\r\n", 400),
            ("GET http:/a.test/ HTTP/1.1\r\nHost: a.test\r\n\r\n", 400),
            ("GET http:///x HTTP/1.1\r\nHost: a.test\r\n\r\n", 400),
            ("GET a.test HTTP/1.1\r\nHost: a.test\r\n\r\n", 400),
            // Bytes over 0x7F in the target (URIs are ASCII; the backend may decode them otherwise).
            ("GET /caf\u{E9} HTTP/1.1\r\nHost: x\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400),
            ("GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n folded\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost: x\nX-A: b\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nX-A: b\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost: x\r\nBad Name: y\r\n\r\n", 400),
            ("GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400),
            ("GET / HTTP/1.1 extra\r\nHost: x\r\n\r\n", 400),
            ("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com\r\n\r\n", 400),
            ("GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505),
            ("GET / HTTP/1.1\r\nHost: x\r\n" + String(repeating: "X-F: 1\r\n", count: 100) + "\r\n", 431),
            ("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + String(repeating: "a", count: 70_000) + "\r\n\r\n", 431),
            ("GET /" + String(repeating: "a", count: 9000) + " HTTP/1.1\r\nHost: x\r\n\r\n", 414),
        ])
    func rejected(request: String, status: Int) {
        guard case .rejected(let rejection) = parse(request) else {
            Issue.record("accepted: \(request.prefix(80).debugDescription)")
            return
        }
        #expect(rejection.status == status, "\(request.prefix(80).debugDescription): \(rejection)")
    }

    @Test func limitsApplyBeforeTheHeadIsComplete() {
        // No end of head yet, but already too long: refused without waiting for more.
        guard case .rejected(.uriTooLong) = parse("GET /" + String(repeating: "a", count: 9000)) else {
            Issue.record("long request line not refused early")
            return
        }
        guard case .rejected(let rejection) = parse("GET / HTTP/1.1\r\nX: " + String(repeating: "a", count: 70_000)), rejection.status == 431
        else {
            Issue.record("huge head not refused early")
            return
        }
    }

    @Test func exactlyAtTheLimitsIsAccepted() throws {
        let fields = (0..<99).map { "X-F\($0): 1\r\n" }.joined()
        _ = try head("GET / HTTP/1.1\r\nHost: x\r\n" + fields + "\r\n")
        let target = "/" + String(repeating: "a", count: 8192 - "GET  HTTP/1.1".utf8.count - 1)
        _ = try head("GET \(target) HTTP/1.1\r\nHost: x\r\n\r\n")
    }
}
