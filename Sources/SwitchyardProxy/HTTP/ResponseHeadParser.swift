/// Parses a backend's response head in place: status, framing (RFC 9112 §6.3) and reuse. Backends are
/// trusted more than clients, but a head the proxy cannot frame is refused (the client gets a 502).
public enum ResponseHeadParser {
    public enum Outcome: Equatable, Sendable {
        case incomplete
        case complete(ResponseHead)
        case invalid(String)
    }

    public static func parse(_ bytes: UnsafeRawBufferPointer, requestIsHead: Bool, maxHeadBytes: Int) -> Outcome {
        guard let end = HeadBytes.endOfHead(bytes, from: 0) else {
            return bytes.count > maxHeadBytes ? .invalid("response head larger than \(maxHeadBytes) bytes") : .incomplete
        }
        if end > maxHeadBytes { return .invalid("response head larger than \(maxHeadBytes) bytes") }
        // "HTTP/1.x SSS"
        guard end >= 12, HeadBytes.equalsIgnoringCase(bytes, 0..<5, "http/"), bytes[5] == UInt8(ascii: "1"), bytes[6] == UInt8(ascii: "."),
            bytes[8] == HeadBytes.space
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
        var sawTransferEncoding = false
        var chunkedLast = false
        var close = false
        var keepAlive = false
        var dropped: [Range<Int>] = []
        var lineStart = 0
        while bytes[lineStart] != HeadBytes.lf { lineStart += 1 }
        lineStart += 1
        var fieldsEnd = end
        while lineStart < end {
            var lf = lineStart
            while bytes[lf] != HeadBytes.lf { lf += 1 }
            var contentEnd = lf
            if contentEnd > lineStart, bytes[contentEnd - 1] == HeadBytes.cr { contentEnd -= 1 }
            if contentEnd == lineStart {
                fieldsEnd = lineStart
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
            case 17 where HeadBytes.equalsIgnoringCase(bytes, name, "transfer-encoding"):
                sawTransferEncoding = true
                HeadBytes.forEachListElement(bytes, value) { chunkedLast = HeadBytes.equalsIgnoringCase(bytes, $0, "chunked") }
            case 10 where HeadBytes.equalsIgnoringCase(bytes, name, "connection"):
                dropped.append(lineStart..<(lf + 1))
                HeadBytes.forEachListElement(bytes, value) { token in
                    if HeadBytes.equalsIgnoringCase(bytes, token, "close") { close = true }
                    if HeadBytes.equalsIgnoringCase(bytes, token, "keep-alive") { keepAlive = true }
                }
            case 10 where HeadBytes.equalsIgnoringCase(bytes, name, "keep-alive"),
                7 where HeadBytes.equalsIgnoringCase(bytes, name, "upgrade"),
                16 where HeadBytes.equalsIgnoringCase(bytes, name, "proxy-connection"):
                dropped.append(lineStart..<(lf + 1))
            default:
                break
            }
            lineStart = lf + 1
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
            ResponseHead(length: end, fieldsEnd: fieldsEnd, status: status, framing: framing, reusable: reusable, droppedLines: dropped))
    }
}
