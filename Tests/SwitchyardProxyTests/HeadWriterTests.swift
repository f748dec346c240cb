import NIOCore
import Testing

@testable import SwitchyardProxy

@Suite struct HeadWriterTests {
    func requestHead(_ text: String) throws -> (RequestHead, ByteBuffer) {
        let buffer = ByteBuffer(string: text)
        let outcome = buffer.withUnsafeReadableBytes { RequestHeadParser.parse($0, limits: HTTPLimits()) }
        guard case .complete(let head) = outcome else { throw ParseFailed(outcome: "\(outcome)") }
        return (head, buffer)
    }

    func responseHead(_ text: String) throws -> (ResponseHead, ByteBuffer) {
        let buffer = ByteBuffer(string: text)
        let outcome = buffer.withUnsafeReadableBytes { ResponseHeadParser.parse($0, requestIsHead: false, maxHeadBytes: 65536) }
        guard case .complete(let head) = outcome else { throw ParseFailed(outcome: "\(outcome)") }
        return (head, buffer)
    }

    @Test func requestHeadDropsHopByHopAndSetsForwardedFields() throws {
        let (head, received) = try requestHead(
            "GET /x HTTP/1.1\r\nHost: example.com\r\nConnection: keep-alive\r\nX-Forwarded-For: 10.0.0.1\r\nAccept: */*\r\n"
                + "Forwarded: for=10.0.0.1\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: a.test\r\n\r\n")
        var out = ByteBuffer()
        // An untrusted client: its forwarding fields are replaced.
        HeadWriter.request(head, from: received, clientIP: "192.0.2.7", scheme: "http", trusted: false, into: &out)
        #expect(
            String(buffer: out)
                == "GET /x HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\nX-Forwarded-For: 192.0.2.7\r\n"
                + "X-Forwarded-Proto: http\r\nX-Forwarded-Host: example.com\r\nForwarded: for=192.0.2.7;proto=http;host=\"example.com\"\r\n\r\n")
        // A trusted proxy: kept and appended to.
        HeadWriter.request(head, from: received, clientIP: "192.0.2.7", scheme: "http", trusted: true, into: &out)
        #expect(
            String(buffer: out)
                == "GET /x HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\nX-Forwarded-For: 10.0.0.1, 192.0.2.7\r\n"
                + "X-Forwarded-Proto: https\r\nX-Forwarded-Host: a.test\r\n"
                + "Forwarded: for=10.0.0.1, for=192.0.2.7;proto=http;host=\"example.com\"\r\n\r\n")
    }

    @Test("an absolute-form target goes out in origin form; an HTTP/1.0 one without Host gets the authority as Host")
    func absoluteFormGoesOutInOriginForm() throws {
        var out = ByteBuffer()
        let (head, received) = try requestHead("GET http://A.test:8080/p/q?x=1 HTTP/1.1\r\nHost: a.test:8080\r\n\r\n")
        HeadWriter.request(head, from: received, clientIP: "::1", scheme: "http", trusted: false, into: &out)
        #expect(String(buffer: out).hasPrefix("GET /p/q?x=1 HTTP/1.1\r\nHost: a.test:8080\r\nX-Forwarded-For: ::1\r\n"))
        #expect(String(buffer: out).hasSuffix("Forwarded: for=\"[::1]\";proto=http;host=\"a.test:8080\"\r\n\r\n"))
        let (bare, bareReceived) = try requestHead("GET http://a.test?x HTTP/1.0\r\n\r\n")
        HeadWriter.request(bare, from: bareReceived, clientIP: "192.0.2.7", scheme: "http", trusted: false, into: &out)
        #expect(String(buffer: out).hasPrefix("GET /?x HTTP/1.0\r\nHost: a.test\r\nX-Forwarded-For: 192.0.2.7\r\n"))
    }

    @Test("repeated or listed identical Content-Lengths go out as exactly one line")
    func contentLengthIsForwardedOnce() throws {
        var out = ByteBuffer()
        for text in [
            "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 12,12\r\nX-A: 1\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 12\r\nX-A: 1\r\ncontent-length: 12\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 12,\r\nX-A: 1\r\n\r\n",
        ] {
            let (head, received) = try requestHead(text)
            #expect(head.framing == .contentLength(12))
            HeadWriter.request(head, from: received, clientIP: "192.0.2.7", scheme: "http", trusted: false, into: &out)
            #expect(String(buffer: out).hasPrefix("POST / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nContent-Length: 12\r\nX-Forwarded-For: "))
        }
        let (single, singleReceived) = try requestHead("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\n")
        #expect(single.rewrittenContentLength == nil)
        HeadWriter.request(single, from: singleReceived, clientIP: "192.0.2.7", scheme: "http", trusted: false, into: &out)
        #expect(String(buffer: out).hasPrefix("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nX-Forwarded-For: "))
    }

    @Test func requestHeadReusesAnUnsharedBufferAndCopiesASharedOne() throws {
        let (long, longReceived) = try requestHead("GET /a-rather-long-path/with/segments HTTP/1.1\r\nHost: h\r\n\r\n")
        let (short, shortReceived) = try requestHead("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        var out = ByteBuffer()
        HeadWriter.request(long, from: longReceived, clientIP: "::1", scheme: "http", trusted: false, into: &out)
        let storage = out.withUnsafeReadableBytes { $0.baseAddress }
        HeadWriter.request(short, from: shortReceived, clientIP: "::1", scheme: "http", trusted: false, into: &out)
        #expect(out.withUnsafeReadableBytes { $0.baseAddress } == storage)
        #expect(
            String(buffer: out)
                == "GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: ::1\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: h\r\n"
                + "Forwarded: for=\"[::1]\";proto=http;host=\"h\"\r\n\r\n")
        // Still held elsewhere (a write not yet on the wire): that copy must not change.
        let inFlight = out
        HeadWriter.request(long, from: longReceived, clientIP: "::1", scheme: "http", trusted: false, into: &out)
        #expect(String(buffer: inFlight).hasPrefix("GET / HTTP/1.1\r\n"))
        #expect(String(buffer: out).hasPrefix("GET /a-rather-long-path/with/segments HTTP/1.1\r\n"))
    }

    @Test func responseHeadGoesAsReceivedWhenTheClientStaysOpen() throws {
        let text = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\n"
        let (head, received) = try responseHead(text)
        let allocator = ByteBufferAllocator()
        // HTTP/1.1 client kept open, and HTTP/1.0 client kept open: the backend's line says it already.
        #expect(HeadWriter.response(head, from: received, connection: .none, allocator: allocator) == nil)
        #expect(HeadWriter.response(head, from: received, connection: .keepAlive, allocator: allocator) == nil)
        // Closing: the keep-alive line goes, Connection: close comes.
        let closing = try #require(HeadWriter.response(head, from: received, connection: .close, allocator: allocator))
        #expect(String(buffer: closing) == "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n")
    }

    @Test func responseHeadRewriteDropsEveryHopByHopLine() throws {
        let text = "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nContent-Length: 2\r\n\r\n"
        let (head, received) = try responseHead(text)
        let allocator = ByteBufferAllocator()
        let rewritten = try #require(HeadWriter.response(head, from: received, connection: .none, allocator: allocator))
        #expect(String(buffer: rewritten) == "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n")
        let forOldClient = try #require(HeadWriter.response(head, from: received, connection: .keepAlive, allocator: allocator))
        #expect(String(buffer: forOldClient) == "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\n")
        // Without any Connection line, an HTTP/1.0 client kept open is told so.
        let (plain, plainReceived) = try responseHead("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n")
        let added = try #require(HeadWriter.response(plain, from: plainReceived, connection: .keepAlive, allocator: allocator))
        #expect(String(buffer: added) == "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\n")
    }

    @Test func responseHeadWithBareLineFeedsIsRewrittenWithinItsCapacity() throws {
        // The empty line is one byte here, so the rewrite is longer than the head plus 24.
        let (head, received) = try responseHead("HTTP/1.1 200 OK\nContent-Length: 2\nConnection: keep-alive\n\n")
        let allocator = ByteBufferAllocator()
        let closing = try #require(HeadWriter.response(head, from: received, connection: .close, allocator: allocator))
        #expect(String(buffer: closing) == "HTTP/1.1 200 OK\nContent-Length: 2\nConnection: close\r\n\r\n")
        // The backend's own keep-alive line says what an HTTP/1.0 client kept open needs: no rewrite.
        #expect(HeadWriter.response(head, from: received, connection: .keepAlive, allocator: allocator) == nil)
    }
}

@Suite("HeadWriter: redirect to https and HSTS")
struct HeadWriterRedirectTests {
    private func parsedRequest(_ text: String) throws -> (RequestHead, ByteBuffer) {
        let buffer = ByteBuffer(string: text)
        guard case .complete(let head) = buffer.withUnsafeReadableBytes({ RequestHeadParser.parse($0, limits: HTTPLimits()) }) else {
            throw HeadWriter.RedirectRefusal.badHost
        }
        return (head, buffer)
    }

    @Test("308 to https://<Host as sent><target>, port kept, absolute form reduced to its path")
    func redirect() throws {
        let (head, buffer) = try parsedRequest("GET /a/b?q=1 HTTP/1.1\r\nHost: Example.com:8080\r\n\r\n")
        let out = try HeadWriter.redirectToHTTPS(head, from: buffer, connection: .none, allocator: ByteBufferAllocator())
        #expect(String(buffer: out) == "HTTP/1.1 308 Permanent Redirect\r\nLocation: https://Example.com:8080/a/b?q=1\r\nContent-Length: 0\r\n\r\n")
        let (absolute, absoluteBuffer) = try parsedRequest("GET http://a.test/x?y HTTP/1.1\r\nHost: a.test\r\n\r\n")
        let closing = try HeadWriter.redirectToHTTPS(absolute, from: absoluteBuffer, connection: .close, allocator: ByteBufferAllocator())
        #expect(String(buffer: closing) == "HTTP/1.1 308 Permanent Redirect\r\nLocation: https://a.test/x?y\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    }

    @Test("a Host that cannot be a URI authority is refused")
    func badHost() throws {
        let (head, buffer) = try parsedRequest("GET / HTTP/1.1\r\nHost: a.test/evil\r\n\r\n")
        #expect(throws: HeadWriter.RedirectRefusal.badHost) {
            try HeadWriter.redirectToHTTPS(head, from: buffer, connection: .none, allocator: ByteBufferAllocator())
        }
    }

    @Test("the HSTS line is added, replacing the backend's own; without it a plain head goes as received")
    func hsts() throws {
        let buffer = ByteBuffer(string: "HTTP/1.1 200 OK\r\nStrict-Transport-Security: max-age=5\r\nContent-Length: 0\r\n\r\n")
        guard case .complete(let head) = buffer.withUnsafeReadableBytes({ ResponseHeadParser.parse($0, requestIsHead: false, maxHeadBytes: 65536) })
        else { Issue.record("not parsed"); return }
        #expect(HeadWriter.response(head, from: buffer, connection: .none, allocator: ByteBufferAllocator()) == nil)
        let out = HeadWriter.response(
            head, from: buffer, connection: .none, strictTransportSecurity: HeadWriter.strictTransportSecurityLine(maxAge: 63_072_000),
            allocator: ByteBufferAllocator())
        #expect(out.map { String(buffer: $0) } == "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nStrict-Transport-Security: max-age=63072000\r\n\r\n")
    }
}
