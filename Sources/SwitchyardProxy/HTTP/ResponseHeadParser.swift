/// Parses a backend's response head in place: status, framing (RFC 9112 §6.3) and reuse. Backends are
/// trusted more than clients, but a head the proxy cannot frame is refused (the client gets a 502).
public enum ResponseHeadParser {
    public enum Outcome: Equatable, Sendable {
        case incomplete
        case complete(ResponseHead)
        case invalid(String)
    }

    /// One pass over the head: each line is found with `memchr`, and the empty line ends it (a head
    /// that is not complete yet is parsed again when more bytes arrive; that is rare).
    public static func parse(_ bytes: UnsafeRawBufferPointer, requestIsHead: Bool, maxHeadBytes: Int) -> Outcome {
        let count = bytes.count
        func incompleteOrTooLarge() -> Outcome {
            count > maxHeadBytes ? .invalid("response head larger than \(maxHeadBytes) bytes") : .incomplete
        }
        guard let statusEnd = HeadBytes.firstIndex(of: HeadBytes.lf, in: bytes, from: 0, to: count) else { return incompleteOrTooLarge() }
        // "HTTP/1.x SSS"
        guard statusEnd >= 12, HeadBytes.equalsIgnoringCase(bytes, 0..<5, "http/"), bytes[5] == UInt8(ascii: "1"),
            bytes[6] == UInt8(ascii: "."), bytes[8] == HeadBytes.space
        else { return .invalid("malformed status line") }
        let isHTTP11 = bytes[7] == UInt8(ascii: "1")
        var status = 0
        for index in 9..<12 {
            let digit = bytes[index] &- 48
            guard digit < 10 else { return .invalid("malformed status code") }
            status = status * 10 + Int(digit)
        }
        guard status >= 100, status != 101 else { return .invalid(status == 101 ? "protocol upgrade is not supported" : "bad status") }

        var contentLength: Int?
        var contentLengthLines: [Range<Int>] = []
        var sawTransferEncoding = false
        var chunkedLast = false
        var close = false
        var keepAlive = false
        var dropped: [Range<Int>] = []
        var keepAliveLine: Range<Int>?
        var strictTransportSecurityLines: [Range<Int>] = []
        var lineStart = statusEnd + 1
        let end: Int
        let fieldsEnd: Int
        while true {
            guard let lf = HeadBytes.firstIndex(of: HeadBytes.lf, in: bytes, from: lineStart, to: count) else {
                return incompleteOrTooLarge()
            }
            if lf >= maxHeadBytes { return .invalid("response head larger than \(maxHeadBytes) bytes") }
            var contentEnd = lf
            if contentEnd > lineStart, bytes[contentEnd - 1] == HeadBytes.cr { contentEnd -= 1 }
            if contentEnd == lineStart {
                fieldsEnd = lineStart
                end = lf + 1
                break
            }
            var colon = lineStart
            while colon < contentEnd, bytes[colon] != HeadBytes.colon { colon += 1 }
            guard colon < contentEnd, colon > lineStart else { return .invalid("malformed header field") }
            let name = lineStart..<colon
            let value = HeadBytes.trimmed(bytes, (colon + 1)..<contentEnd)
            switch name.count {
            case 14 where HeadBytes.equalsIgnoringCase(bytes, name, "content-length"):
                guard let parsed = HeadBytes.decimal(bytes, value), contentLength == nil || contentLength == parsed else {
                    return .invalid("invalid Content-Length")
                }
                contentLength = parsed
                contentLengthLines.append(lineStart..<(lf + 1))
            case 17 where HeadBytes.equalsIgnoringCase(bytes, name, "transfer-encoding"):
                sawTransferEncoding = true
                HeadBytes.forEachListElement(bytes, value) { chunkedLast = HeadBytes.equalsIgnoringCase(bytes, $0, "chunked") }
            case 10 where HeadBytes.equalsIgnoringCase(bytes, name, "connection"):
                var otherToken = false
                var keepAliveToken = false
                HeadBytes.forEachListElement(bytes, value) { token in
                    if HeadBytes.equalsIgnoringCase(bytes, token, "keep-alive") {
                        keepAlive = true
                        keepAliveToken = true
                    } else {
                        otherToken = true
                        if HeadBytes.equalsIgnoringCase(bytes, token, "close") { close = true }
                    }
                }
                if otherToken || !keepAliveToken || keepAliveLine != nil {
                    dropped.append(lineStart..<(lf + 1))
                } else {
                    keepAliveLine = lineStart..<(lf + 1)
                }
            case 10 where HeadBytes.equalsIgnoringCase(bytes, name, "keep-alive"),
                7 where HeadBytes.equalsIgnoringCase(bytes, name, "upgrade"),
                16 where HeadBytes.equalsIgnoringCase(bytes, name, "proxy-connection"):
                dropped.append(lineStart..<(lf + 1))
            case 25 where HeadBytes.equalsIgnoringCase(bytes, name, "strict-transport-security"):
                strictTransportSecurityLines.append(lineStart..<(lf + 1))
            default:
                break
            }
            lineStart = lf + 1
        }

        if sawTransferEncoding && !contentLengthLines.isEmpty {
            // RFC 9112 §6.3: Transfer-Encoding overrides Content-Length, and an intermediary removes the
            // latter so that no reader after the proxy frames the body by it.
            dropped = (dropped + contentLengthLines).sorted { $0.lowerBound < $1.lowerBound }
        }
        let framing: BodyFraming
        if requestIsHead || status < 200 || status == 204 || status == 304 {
            framing = .none
        } else if sawTransferEncoding {
            framing = chunkedLast ? .chunked : .untilClose
        } else if let contentLength {
            framing = contentLength == 0 ? .none : .contentLength(contentLength)
        } else {
            framing = .untilClose
        }
        let reusable = (isHTTP11 ? !close : (keepAlive && !close)) && framing != .untilClose
        return .complete(
            ResponseHead(
                length: end, fieldsEnd: fieldsEnd, status: status, framing: framing, reusable: reusable, droppedLines: dropped,
                keepAliveLine: keepAliveLine, strictTransportSecurityLines: strictTransportSecurityLines))
    }
}
