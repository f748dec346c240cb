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
        #expect(response.droppedLines.count == 1)
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
