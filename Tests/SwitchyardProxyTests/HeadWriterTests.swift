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
            "GET /x HTTP/1.1\r\nHost: example.com\r\nConnection: keep-alive\r\nX-Forwarded-For: 10.0.0.1\r\nAccept: */*\r\n\r\n")
        var out = ByteBuffer()
        HeadWriter.request(head, from: received, clientIP: "192.0.2.7", scheme: "http", into: &out)
        #expect(
            String(buffer: out)
                == "GET /x HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\nX-Forwarded-For: 10.0.0.1, 192.0.2.7\r\n"
                + "X-Forwarded-Proto: http\r\nX-Forwarded-Host: example.com\r\n\r\n")
    }

    @Test func requestHeadReusesAnUnsharedBufferAndCopiesASharedOne() throws {
        let (long, longReceived) = try requestHead("GET /a-rather-long-path/with/segments HTTP/1.1\r\nHost: h\r\n\r\n")
        let (short, shortReceived) = try requestHead("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        var out = ByteBuffer()
        HeadWriter.request(long, from: longReceived, clientIP: "::1", scheme: "http", into: &out)
        let storage = out.withUnsafeReadableBytes { $0.baseAddress }
        HeadWriter.request(short, from: shortReceived, clientIP: "::1", scheme: "http", into: &out)
        #expect(out.withUnsafeReadableBytes { $0.baseAddress } == storage)
        #expect(String(buffer: out) == "GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: ::1\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: h\r\n\r\n")
        // Still held elsewhere (a write not yet on the wire): that copy must not change.
        let inFlight = out
        HeadWriter.request(long, from: longReceived, clientIP: "::1", scheme: "http", into: &out)
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
