import Testing

@testable import SwitchyardProxy

@Suite struct ChunkedBodyScannerTests {
    func scan(_ pieces: [String]) throws -> (end: Int?, total: Int) {
        var scanner = ChunkedBodyScanner()
        var total = 0
        for piece in pieces {
            let bytes = Array(piece.utf8)
            let end = try bytes.withUnsafeBytes { raw in try scanner.consume(raw) }
            if let end { return (total + end, total) }
            total += bytes.count
        }
        return (nil, total)
    }

    @Test func findsTheEndAcrossAnySplit() throws {
        let body = "5 ;ext\r\nhello\r\n1a;name=value\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nTrailer: x\r\n\r\n"
        for split in 0...body.utf8.count {
            let bytes = Array(body.utf8)
            let pieces = [String(decoding: bytes[..<split], as: UTF8.self), String(decoding: bytes[split...], as: UTF8.self) + "GET /next"]
            #expect(try scan(pieces).end == body.utf8.count, "split at \(split)")
        }
    }

    @Test(
        "malformed chunk framing is refused",
        arguments: ["zz\r\n", "5\r\nhelloXX", "\r\n", "5\nhello\r\n", "FFFFFFFFFFFFFFFFFF\r\n", "0\r\nbad\ntrailer",
            // A bare LF where the trailer section starts, then a second request.
            "0\r\n\nGET /x HTTP/1.1\r\nHost: a\r\n\r\n", "0\r\n\n\r\n",
            // Control bytes in a chunk extension or a trailer field; a trailer line that starts with a space.
            "5;a=\u{1}\r\nhello\r\n", "0\r\nX: a\u{0}b\r\n\r\n", "0\r\nX: a\u{7F}\r\n\r\n", "0\r\n folded\r\n\r\n",
            // A trailer that is not a field line: a request line hidden after the last chunk.
            "0\r\nget http://other.test/ HTTP/1.1\r\nHost: a\r\n\r\n", "0\r\nNoColon\r\n\r\n", "0\r\nX Y: 1\r\n\r\n",
            // Whitespace after a chunk size that no ";" follows.
            "2\t\r\nab\r\n0\r\n\r\n", "2 x\r\nab\r\n",
        ])
    func malformed(body: String) {
        #expect(throws: ChunkedBodyScanner.Malformed.self) { _ = try scan([body]) }
    }
}
