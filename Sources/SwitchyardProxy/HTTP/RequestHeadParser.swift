/// Parses and checks a request head in place, so that what is forwarded is exactly what the proxy
/// understood (docs/proxy.md, "Hardening"): request line and head size, field count, obs-fold,
/// control bytes, bare LF, Content-Length with Transfer-Encoding, differing Content-Lengths (identical
/// repeats are forwarded as one line), a Transfer-Encoding that does not end in chunked, a missing or
/// repeated Host, an absolute-form target whose authority is not the Host (forwarded in origin form),
/// and a `Connection` field naming a framing or routing field.
public enum RequestHeadParser {
    public enum Outcome: Equatable, Sendable {
        /// More bytes are needed (and the ones so far keep the limits).
        case incomplete
        case complete(RequestHead)
        case rejected(RequestRejection)
    }

    public static func parse(_ bytes: UnsafeRawBufferPointer, limits: HTTPLimits) -> Outcome {
        var start = 0
        while start < bytes.count, start < 64, bytes[start] == HeadBytes.cr || bytes[start] == HeadBytes.lf { start += 1 }
        guard let end = HeadBytes.endOfHead(bytes, from: start) else {
            let available = bytes.count - start
            // The request line may be maxRequestLineBytes long, plus its CRLF.
            if available > limits.maxRequestLineBytes + 2,
                !UnsafeRawBufferPointer(rebasing: bytes[start..<(start + limits.maxRequestLineBytes + 2)]).contains(HeadBytes.lf)
            {
                return .rejected(.uriTooLong)
            }
            if available > limits.maxHeadBytes { return .rejected(.headTooLarge("request head larger than \(limits.maxHeadBytes) bytes")) }
            return .incomplete
        }
        if end - start > limits.maxHeadBytes { return .rejected(.headTooLarge("request head larger than \(limits.maxHeadBytes) bytes")) }
        do {
            return .complete(try parseComplete(bytes, start: start, end: end, limits: limits))
        } catch {
            return .rejected(error)
        }
    }

    private static func parseComplete(_ bytes: UnsafeRawBufferPointer, start: Int, end: Int, limits: HTTPLimits) throws(RequestRejection)
        -> RequestHead
    {
        // The request line.
        var lineEnd = start
        while bytes[lineEnd] != HeadBytes.lf { lineEnd += 1 }
        if lineEnd - 1 - start > limits.maxRequestLineBytes { throw .uriTooLong }
        guard lineEnd > start, bytes[lineEnd - 1] == HeadBytes.cr else { throw .badRequest("request line must end with CRLF") }
        let line = start..<(lineEnd - 1)
        var index = line.lowerBound
        while index < line.upperBound, HeadBytes.isTokenByte[Int(bytes[index])] { index += 1 }
        let method = line.lowerBound..<index
        guard !method.isEmpty, index < line.upperBound, bytes[index] == HeadBytes.space else { throw .badRequest("malformed request line") }
        index += 1
        let targetStart = index
        // Visible ASCII only (RFC 3986): a control byte, DEL or a byte over 0x7F ends the target, and is refused.
        while index < line.upperBound, bytes[index] > 0x20, bytes[index] < 0x7F { index += 1 }
        let target = targetStart..<index
        guard !target.isEmpty, index < line.upperBound, bytes[index] == HeadBytes.space else { throw .badRequest("malformed request line") }
        let version = (index + 1)..<line.upperBound
        let isHTTP11: Bool
        if HeadBytes.equalsIgnoringCase(bytes, version, "http/1.1") && bytes[version.lowerBound] == UInt8(ascii: "H") {
            isHTTP11 = true
        } else if HeadBytes.equalsIgnoringCase(bytes, version, "http/1.0") && bytes[version.lowerBound] == UInt8(ascii: "H") {
            isHTTP11 = false
        } else if version.count == 8, bytes[version.lowerBound] == UInt8(ascii: "H"), bytes[version.lowerBound + 5] &- 48 < 10 {
            throw .versionNotSupported
        } else {
            throw .badRequest("malformed HTTP version")
        }
        if HeadBytes.equalsIgnoringCase(bytes, method, "connect") { throw .badRequest("CONNECT is not supported") }

        var head = RequestHead(
            start: start, length: end, fieldsEnd: end, method: method, target: target, path: path(of: target, in: bytes),
            isHTTP11: isHTTP11, host: nil, framing: .none, keepAlive: isHTTP11, isIdempotent: isIdempotent(method, bytes),
            isHead: HeadBytes.equalsIgnoringCase(bytes, method, "head"), forwardedFor: [], droppedLines: [])

        // The header fields.
        var fields = 0
        var hosts = 0
        var contentLength: Int?
        var contentLengthLines = 0
        var contentLengthIsList = false
        var contentLengthDropped: [Range<Int>] = []
        var sawTransferEncoding = false
        var chunkedLast = false
        var close = false
        var keepAlive = false
        var connectionOptions: [Range<Int>] = []
        var lineStart = lineEnd + 1
        while true {
            var lf = lineStart
            while bytes[lf] != HeadBytes.lf { lf += 1 }
            guard lf > lineStart, bytes[lf - 1] == HeadBytes.cr else { throw .badRequest("header lines must end with CRLF") }
            let content = lineStart..<(lf - 1)
            if content.isEmpty {
                head.fieldsEnd = lineStart
                break
            }
            fields += 1
            if fields > limits.maxHeaderFields { throw .headTooLarge("more than \(limits.maxHeaderFields) header fields") }
            let first = bytes[content.lowerBound]
            if first == HeadBytes.space || first == HeadBytes.tab { throw .badRequest("obsolete line folding in headers") }
            var colon = content.lowerBound
            while colon < content.upperBound, HeadBytes.isTokenByte[Int(bytes[colon])] { colon += 1 }
            guard colon > content.lowerBound, colon < content.upperBound, bytes[colon] == HeadBytes.colon else {
                throw .badRequest("malformed header field name")
            }
            let name = content.lowerBound..<colon
            let value = HeadBytes.trimmed(bytes, (colon + 1)..<content.upperBound)
            for index in value where !HeadBytes.isValueByte(bytes[index]) {
                throw .badRequest("control character in a header value")
            }
            let wholeLine = lineStart..<(lf + 1)
            switch (name.count, HeadBytes.lower(bytes[name.lowerBound])) {
            case (4, UInt8(ascii: "h")) where HeadBytes.equalsIgnoringCase(bytes, name, "host"):
                hosts += 1
                head.host = value
            case (14, UInt8(ascii: "c")) where HeadBytes.equalsIgnoringCase(bytes, name, "content-length"):
                var parsed: Int?
                var bad = false
                var elements = 0
                HeadBytes.forEachListElement(bytes, value) { element in
                    elements += 1
                    guard let number = HeadBytes.decimal(bytes, element), parsed == nil || parsed == number else {
                        bad = true
                        return
                    }
                    parsed = number
                }
                guard !bad, let parsed else { throw .badRequest("invalid Content-Length") }
                if let contentLength, contentLength != parsed { throw .badRequest("differing Content-Length fields") }
                contentLength = parsed
                contentLengthLines += 1
                if elements > 1 || HeadBytes.firstIndex(of: HeadBytes.comma, in: bytes, from: value.lowerBound, to: value.upperBound) != nil {
                    contentLengthIsList = true
                }
                contentLengthDropped.append(wholeLine)
            case (17, UInt8(ascii: "t")) where HeadBytes.equalsIgnoringCase(bytes, name, "transfer-encoding"):
                sawTransferEncoding = true
                HeadBytes.forEachListElement(bytes, value) { element in
                    chunkedLast = HeadBytes.equalsIgnoringCase(bytes, element, "chunked")
                }
            case (10, UInt8(ascii: "c")) where HeadBytes.equalsIgnoringCase(bytes, name, "connection"):
                head.droppedLines.append(wholeLine)
                var namesOwnField = false
                HeadBytes.forEachListElement(bytes, value) { token in
                    if HeadBytes.equalsIgnoringCase(bytes, token, "close") {
                        close = true
                    } else if HeadBytes.equalsIgnoringCase(bytes, token, "keep-alive") {
                        keepAlive = true
                    } else if isFramingOrRoutingField(token, bytes) {
                        namesOwnField = true
                    } else {
                        connectionOptions.append(token)
                    }
                }
                // Dropping such a field as hop-by-hop after framing or routing was decided from it
                // would forward a body without its framing (request smuggling) or a request for
                // another host.
                if namesOwnField { throw .badRequest("Connection must not name Content-Length, Transfer-Encoding or Host") }
            case (15, UInt8(ascii: "x")) where HeadBytes.equalsIgnoringCase(bytes, name, "x-forwarded-for"):
                head.droppedLines.append(wholeLine)
                if !value.isEmpty { head.forwardedFor.append(value) }
            case (9, UInt8(ascii: "f")) where HeadBytes.equalsIgnoringCase(bytes, name, "forwarded"):
                head.droppedLines.append(wholeLine)
                if !value.isEmpty { head.forwarded.append(value) }
            case (17, UInt8(ascii: "x")) where HeadBytes.equalsIgnoringCase(bytes, name, "x-forwarded-proto"):
                head.droppedLines.append(wholeLine)
                if !value.isEmpty { head.forwardedProto = value }
            case (16, UInt8(ascii: "x")) where HeadBytes.equalsIgnoringCase(bytes, name, "x-forwarded-host"):
                head.droppedLines.append(wholeLine)
                if !value.isEmpty { head.forwardedHost = value }
            default:
                if isHopByHopOrOwned(name, bytes) { head.droppedLines.append(wholeLine) }
            }
            lineStart = lf + 1
        }

        if isHTTP11 && hosts == 0 { throw .badRequest("missing Host header") }
        if hosts > 1 { throw .badRequest("more than one Host header") }
        if bytes[target.lowerBound] != UInt8(ascii: "/") && !(target.count == 1 && bytes[target.lowerBound] == UInt8(ascii: "*")) {
            try checkAbsoluteForm(&head, in: bytes)
        }
        if contentLengthLines > 1 || contentLengthIsList {
            head.rewrittenContentLength = contentLength
            head.droppedLines.append(contentsOf: contentLengthDropped)
            head.droppedLines.sort { $0.lowerBound < $1.lowerBound }
        }
        if sawTransferEncoding {
            if contentLength != nil { throw .badRequest("both Content-Length and Transfer-Encoding") }
            if !isHTTP11 { throw .badRequest("Transfer-Encoding in an HTTP/1.0 request") }
            if !chunkedLast { throw .badRequest("Transfer-Encoding must end with chunked") }
            head.framing = .chunked
        } else if let contentLength, contentLength > 0 {
            head.framing = .contentLength(contentLength)
        }
        head.keepAlive = isHTTP11 ? !close : (keepAlive && !close)
        if !connectionOptions.isEmpty { dropConnectionOptions(connectionOptions, from: &head, in: bytes) }
        return head
    }

    /// Keep-Alive, Proxy-Connection, TE, Trailer, Upgrade: hop-by-hop fields.
    private static func isHopByHopOrOwned(_ name: Range<Int>, _ bytes: UnsafeRawBufferPointer) -> Bool {
        switch name.count {
        case 2: HeadBytes.equalsIgnoringCase(bytes, name, "te")
        case 7: HeadBytes.equalsIgnoringCase(bytes, name, "trailer") || HeadBytes.equalsIgnoringCase(bytes, name, "upgrade")
        case 10: HeadBytes.equalsIgnoringCase(bytes, name, "keep-alive")
        case 16: HeadBytes.equalsIgnoringCase(bytes, name, "proxy-connection")
        default: false
        }
    }

    private static func isFramingOrRoutingField(_ token: Range<Int>, _ bytes: UnsafeRawBufferPointer) -> Bool {
        HeadBytes.equalsIgnoringCase(bytes, token, "content-length") || HeadBytes.equalsIgnoringCase(bytes, token, "transfer-encoding")
            || HeadBytes.equalsIgnoringCase(bytes, token, "host")
    }

    /// An absolute-form target ("http://a.test/x?q"): only http and https, no userinfo, and an
    /// authority that is the Host field (RFC 9112 §3.2.2), compared ignoring case. An HTTP/1.0 request
    /// without Host takes the authority as its host. The backend gets the origin form.
    private static func checkAbsoluteForm(_ head: inout RequestHead, in bytes: UnsafeRawBufferPointer) throws(RequestRejection) {
        let target = head.target
        var index = target.lowerBound
        while index < target.upperBound, bytes[index] != UInt8(ascii: ":") { index += 1 }
        let scheme = target.lowerBound..<index
        guard HeadBytes.equalsIgnoringCase(bytes, scheme, "http") || HeadBytes.equalsIgnoringCase(bytes, scheme, "https"),
            index + 3 <= target.upperBound, bytes[index + 1] == UInt8(ascii: "/"), bytes[index + 2] == UInt8(ascii: "/")
        else { throw .badRequest("request target must be a path or an http(s) URI") }
        let authorityStart = index + 3
        var authorityEnd = authorityStart
        while authorityEnd < target.upperBound, bytes[authorityEnd] != UInt8(ascii: "/"), bytes[authorityEnd] != UInt8(ascii: "?") {
            if bytes[authorityEnd] == UInt8(ascii: "@") || bytes[authorityEnd] == UInt8(ascii: "#") {
                throw .badRequest("request target must not carry userinfo or a fragment")
            }
            authorityEnd += 1
        }
        let authority = authorityStart..<authorityEnd
        guard !authority.isEmpty else { throw .badRequest("request target has an empty authority") }
        if let host = head.host {
            let same =
                host.count == authority.count
                && zip(host, authority).allSatisfy { HeadBytes.lower(bytes[$0]) == HeadBytes.lower(bytes[$1]) }
            guard same else { throw .badRequest("the request target's authority differs from Host") }
        } else {
            head.host = authority
            head.hostFromTarget = true
        }
        head.absolutePrefix = target.lowerBound..<authorityEnd
        var pathEnd = authorityEnd
        while pathEnd < target.upperBound, bytes[pathEnd] != UInt8(ascii: "?") { pathEnd += 1 }
        head.path = authorityEnd..<pathEnd
    }

    /// Fields named in Connection are hop-by-hop too (RFC 9110 §7.6.1); rare, so a second pass.
    private static func dropConnectionOptions(_ options: [Range<Int>], from head: inout RequestHead, in bytes: UnsafeRawBufferPointer) {
        var dropped = Set(head.droppedLines.map(\.lowerBound))
        var lineStart = head.start
        while bytes[lineStart] != HeadBytes.lf { lineStart += 1 }
        lineStart += 1
        while lineStart < head.fieldsEnd {
            var lf = lineStart
            while bytes[lf] != HeadBytes.lf { lf += 1 }
            var colon = lineStart
            while bytes[colon] != HeadBytes.colon { colon += 1 }
            let name = lineStart..<colon
            let matches = options.contains { option in
                option.count == name.count && zip(option, name).allSatisfy { HeadBytes.lower(bytes[$0]) == HeadBytes.lower(bytes[$1]) }
            }
            if matches && !dropped.contains(lineStart) {
                dropped.insert(lineStart)
                head.droppedLines.append(lineStart..<(lf + 1))
            }
            lineStart = lf + 1
        }
        head.droppedLines.sort { $0.lowerBound < $1.lowerBound }
    }

    private static func isIdempotent(_ method: Range<Int>, _ bytes: UnsafeRawBufferPointer) -> Bool {
        switch method.count {
        case 3: HeadBytes.equalsIgnoringCase(bytes, method, "get") || HeadBytes.equalsIgnoringCase(bytes, method, "put")
        case 4: HeadBytes.equalsIgnoringCase(bytes, method, "head")
        case 5: HeadBytes.equalsIgnoringCase(bytes, method, "trace")
        case 6: HeadBytes.equalsIgnoringCase(bytes, method, "delete")
        case 7: HeadBytes.equalsIgnoringCase(bytes, method, "options")
        default: false
        }
    }

    /// "/a/b?q" → "/a/b"; "*" → "*" (an absolute-form target's path is found by `checkAbsoluteForm`).
    private static func path(of target: Range<Int>, in bytes: UnsafeRawBufferPointer) -> Range<Int> {
        var upper = target.lowerBound
        while upper < target.upperBound, bytes[upper] != UInt8(ascii: "?") { upper += 1 }
        return target.lowerBound..<upper
    }
}
