import Testing

@testable import SwitchyardProxy

@Suite struct ResponseHeadParserTests {
    func parse(_ text: String, head: Bool = false) -> ResponseHeadParser.Outcome {
        Array(text.utf8).withUnsafeBytes { ResponseHeadParser.parse($0, requestIsHead: head, maxHeadBytes: 65536) }
    }

    func complete(_ text: String, head: Bool = false) throws -> ResponseHead {
        guard case .complete(let response) = parse(text, head: head) else { throw ParseFailed(outcome: "\(parse(text, head: head))") }
        return response
    }

    @Test func contentLengthFraming() throws {
        let text = "HTTP/1.0 200 OK\r\nServer: SimpleHTTP/0.6\r\nContent-type: text/html\r\nContent-Length: 4\r\n\r\n"
        let response = try complete(text + "one\n")
        #expect(response.status == 200)
        #expect(response.framing == .contentLength(4))
        #expect(response.length == text.utf8.count)
        #expect(!response.reusable)
    }

    @Test func chunkedAndKeepAlive() throws {
        let response = try complete("HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n")
        #expect(response.framing == .chunked)
        #expect(response.reusable)
        // A Connection line that only says keep-alive is not dropped outright: it may go as received.
        #expect(response.droppedLines.isEmpty)
        #expect(response.keepAliveLine == 50..<74)
    }

    @Test func connectionLinesWithOtherTokensAreDropped() throws {
        let text = "HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Trace\r\nKeep-Alive: timeout=5\r\nContent-Length: 0\r\n\r\n"
        let response = try complete(text)
        #expect(response.keepAliveLine == nil)
        #expect(response.droppedLines == [17..<50, 50..<73])
        let twice = try complete("HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n")
        #expect(twice.keepAliveLine == 17..<41)
        #expect(twice.droppedLines == [41..<65])
        let closing = try complete("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
        #expect(closing.keepAliveLine == nil && closing.droppedLines == [17..<36] && !closing.reusable)
    }

    @Test("Content-Length beside Transfer-Encoding is dropped: the chunks frame the body")
    func contentLengthWithTransferEncodingIsDropped() throws {
        let text = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\ncontent-length: 5\r\n\r\n"
        let response = try complete(text)
        #expect(response.framing == .chunked)
        #expect(response.droppedLines == [17..<36, 64..<83])
    }

    @Test func headArrivingInPiecesIsParsedWhenComplete() throws {
        let text = "HTTP/1.1 200 OK\r\nServer: x\r\nContent-Length: 2\r\n\r\nok"
        for cut in 0..<(text.utf8.count - 2) {
            #expect(parse(String(text.utf8.prefix(cut))!) == .incomplete, "cut at \(cut)")
        }
        let response = try complete(text)
        #expect(response.length == text.utf8.count - 2)
        #expect(response.fieldsEnd == response.length - 2)
        // Bare LF line ends are accepted from backends, like the empty line "\n\n".
        #expect(try complete("HTTP/1.1 200 OK\nContent-Length: 0\n\n").length == 35)
    }

    @Test func headLimit() {
        let text = "HTTP/1.1 200 OK\r\nServer: x\r\n\r\n"
        let parsed = Array(text.utf8).withUnsafeBytes { ResponseHeadParser.parse($0, requestIsHead: false, maxHeadBytes: 20) }
        guard case .invalid = parsed else {
            Issue.record("a head over the limit was accepted: \(parsed)")
            return
        }
        let partial = Array("HTTP/1.1 200 OK\r\nServer: xxxxxxxxxxxxxxxxxx".utf8).withUnsafeBytes {
            ResponseHeadParser.parse($0, requestIsHead: false, maxHeadBytes: 20)
        }
        guard case .invalid = partial else {
            Issue.record("an incomplete head over the limit was not refused: \(partial)")
            return
        }
        let exact = Array(text.utf8).withUnsafeBytes { ResponseHeadParser.parse($0, requestIsHead: false, maxHeadBytes: text.utf8.count) }
        #expect(exact != .incomplete)
        if case .invalid = exact { Issue.record("a head exactly at the limit was refused") }
    }

    @Test func noBodyCases() throws {
        #expect(try complete("HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n").framing == .none)
        #expect(try complete("HTTP/1.1 304 Not Modified\r\n\r\n").framing == .none)
        #expect(try complete("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", head: true).framing == .none)
        #expect(try complete("HTTP/1.1 100 Continue\r\n\r\n").isInterim)
    }

    @Test func untilCloseIsNotReusable() throws {
        let response = try complete("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n")
        #expect(response.framing == .untilClose)
        #expect(!response.reusable)
    }

    @Test func incompleteAndInvalid() {
        #expect(parse("HTTP/1.1 200 OK\r\nContent-Le") == .incomplete)
        guard case .invalid = parse("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n") else {
            Issue.record("differing lengths accepted")
            return
        }
        guard case .invalid = parse("SSH-2.0-OpenSSH\r\n\r\n") else {
            Issue.record("garbage accepted")
            return
        }
    }
}

struct ParseFailed: Error {
    var outcome: String
}
