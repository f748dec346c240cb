import NIOCore

/// Writes the heads the proxy forwards: the request head with hop-by-hop lines left out and
/// X-Forwarded-For/-Proto/-Host set, and the response head with hop-by-hop lines left out.
enum HeadWriter {
    /// The `Connection` field a response head must carry to the client.
    enum ConnectionField {
        /// None: an HTTP/1.1 client whose connection stays open.
        case none
        /// An HTTP/1.0 client whose connection stays open.
        case keepAlive
        case close
    }

    /// The request head as the backend gets it, written into `out` (cleared first: a buffer that nothing
    /// else holds any more is reused without an allocation). `head` holds offsets into `received`.
    /// The forwarding fields (X-Forwarded-For/-Proto/-Host, Forwarded) describe this hop; those the
    /// client sent are kept, and appended to, only when it is a `trusted` proxy, and replaced otherwise.
    static func request(
        _ head: RequestHead, from received: ByteBuffer, clientIP: String, scheme: StaticString, trusted: Bool,
        into out: inout ByteBuffer
    ) {
        var clientIP = clientIP
        clientIP.withUTF8 { ip in
            let hostBytes = head.host?.count ?? 0
            var capacity = head.fieldsEnd - head.start + 200 + 2 * ip.count + 3 * hostBytes
            if trusted {
                capacity += head.forwardedFor.reduce(0) { $0 + $1.count + 2 } + head.forwarded.reduce(0) { $0 + $1.count + 2 }
                capacity += (head.forwardedProto?.count ?? 0) + (head.forwardedHost?.count ?? 0)
            }
            out.clear(minimumCapacity: capacity)
            _ = received.withUnsafeReadableBytes { bytes in
                // One pass of copies into the buffer's memory: ByteBuffer's write calls each check
                // capacity and uniqueness, which showed in profiles for a ~150-byte head.
                out.writeWithUnsafeMutableBytes(minimumWritableBytes: capacity) { target in
                    var writer = RawWriter(target)
                    if let prefix = head.absolutePrefix {
                        // Origin form: the request line without "scheme://authority".
                        writer.append(bytes, head.start..<prefix.lowerBound)
                        if head.path.isEmpty { writer.append("/") }
                        writer.append(bytes, from: prefix.upperBound, to: head.fieldsEnd, skipping: head.droppedLines)
                    } else {
                        writer.append(bytes, from: head.start, to: head.fieldsEnd, skipping: head.droppedLines)
                    }
                    if head.hostFromTarget, let host = head.host {
                        writer.append("Host: ")
                        writer.append(bytes, host)
                        writer.append("\r\n")
                    }
                    if let length = head.rewrittenContentLength {
                        writer.append("Content-Length: ")
                        writer.appendDecimal(length)
                        writer.append("\r\n")
                    }
                    writer.append("X-Forwarded-For: ")
                    if trusted {
                        for range in head.forwardedFor {
                            writer.append(bytes, range)
                            writer.append(", ")
                        }
                    }
                    writer.append(UnsafeRawBufferPointer(ip))
                    writer.append("\r\nX-Forwarded-Proto: ")
                    if trusted, let proto = head.forwardedProto {
                        writer.append(bytes, proto)
                    } else {
                        writer.append(scheme)
                    }
                    if trusted, let forwardedHost = head.forwardedHost {
                        writer.append("\r\nX-Forwarded-Host: ")
                        writer.append(bytes, forwardedHost)
                    } else if let host = head.host {
                        writer.append("\r\nX-Forwarded-Host: ")
                        writer.append(bytes, host)
                    }
                    writer.append("\r\nForwarded: ")
                    if trusted {
                        for range in head.forwarded {
                            writer.append(bytes, range)
                            writer.append(", ")
                        }
                    }
                    // RFC 7239 §6: an IPv6 node is quoted and bracketed.
                    let isIPv6 = ip.contains(HeadBytes.colon)
                    writer.append(isIPv6 ? "for=\"[" : "for=")
                    writer.append(UnsafeRawBufferPointer(ip))
                    writer.append(isIPv6 ? "]\";proto=" : ";proto=")
                    writer.append(scheme)
                    if let host = head.host, isQuotable(bytes, host) {
                        writer.append(";host=\"")
                        writer.append(bytes, host)
                        writer.append("\"")
                    }
                    writer.append("\r\n\r\n")
                    return writer.count
                }
            }
        }
    }

    /// Whether `bytes[range]` can go inside a quoted-string as it is (no quote or backslash to escape).
    private static func isQuotable(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> Bool {
        for index in range where bytes[index] == UInt8(ascii: "\"") || bytes[index] == UInt8(ascii: "\\") { return false }
        return true
    }

    /// The response head as the client gets it, or nil when it can go as received: nothing to drop,
    /// no field to add (`strictTransportSecurity`, an https listener's whole HSTS line), and either no
    /// `Connection` field to add or the backend's own `Connection: keep-alive` saying what would be added.
    /// The listener's HSTS line replaces the backend's own `Strict-Transport-Security` fields.
    static func response(
        _ head: ResponseHead, from received: ByteBuffer, connection: ConnectionField, strictTransportSecurity: [UInt8]? = nil,
        allocator: ByteBufferAllocator
    ) -> ByteBuffer? {
        if head.droppedLines.isEmpty && strictTransportSecurity == nil {
            if connection == .none || (connection == .keepAlive && head.keepAliveLine != nil) { return nil }
        }
        var dropped = head.droppedLines
        if let line = head.keepAliveLine {
            dropped.insert(line, at: dropped.firstIndex { $0.lowerBound > line.lowerBound } ?? dropped.endIndex)
        }
        if strictTransportSecurity != nil && !head.strictTransportSecurityLines.isEmpty {
            dropped = (dropped + head.strictTransportSecurityLines).sorted { $0.lowerBound < $1.lowerBound }
        }
        // The kept lines, the added field, the longest Connection line ("Connection: keep-alive\r\n") and
        // the empty line.
        let capacity = head.fieldsEnd + (strictTransportSecurity?.count ?? 0) + 24 + 2
        var out = allocator.buffer(capacity: capacity)
        _ = received.withUnsafeReadableBytes { bytes in
            out.writeWithUnsafeMutableBytes(minimumWritableBytes: capacity) { target in
                var writer = RawWriter(target)
                writer.append(bytes, from: 0, to: head.fieldsEnd, skipping: dropped)
                if let strictTransportSecurity {
                    strictTransportSecurity.withUnsafeBytes { writer.append($0) }
                }
                writer.append(connection)
                writer.append("\r\n")
                return writer.count
            }
        }
        return out
    }

    /// An https listener's `Strict-Transport-Security` line (with its CRLF), made once per snapshot.
    static func strictTransportSecurityLine(maxAge: Int) -> [UInt8] {
        Array("Strict-Transport-Security: max-age=\(maxAge)\r\n".utf8)
    }

    /// Why a request cannot be redirected to https.
    enum RedirectRefusal: Error, Equatable {
        /// No Host (an HTTP/1.0 request), or one that cannot be the authority of a URI.
        case badHost
    }

    /// The answer of an `http` listener with `redirect_https`: `308 Permanent Redirect` to
    /// `https://<Host as sent><target>`, as HAProxy's `redirect scheme https` builds it (the Host with any
    /// port it names; an absolute-form target contributes its path and query; `*` becomes `/`), with an
    /// empty body. `connection` as for a response head.
    static func redirectToHTTPS(_ head: RequestHead, from received: ByteBuffer, connection: ConnectionField, allocator: ByteBufferAllocator)
        throws(RedirectRefusal) -> ByteBuffer
    {
        guard let host = head.host, !host.isEmpty else { throw .badHost }
        let valid = received.withUnsafeReadableBytes { bytes in
            host.allSatisfy { isAuthorityByte[Int(bytes[$0])] }
        }
        guard valid else { throw .badHost }
        var path = head.target
        if let prefix = head.absolutePrefix { path = prefix.upperBound..<head.target.upperBound }
        let capacity = 64 + host.count + path.count + 64
        var out = allocator.buffer(capacity: capacity)
        _ = received.withUnsafeReadableBytes { bytes in
            out.writeWithUnsafeMutableBytes(minimumWritableBytes: capacity) { target in
                var writer = RawWriter(target)
                writer.append("HTTP/1.1 308 Permanent Redirect\r\nLocation: https://")
                writer.append(bytes, host)
                if path.isEmpty || bytes[path.lowerBound] != UInt8(ascii: "/") {
                    // "*" (OPTIONS), or an absolute-form target without a path.
                    writer.append("/")
                } else {
                    writer.append(bytes, path)
                }
                writer.append("\r\nContent-Length: 0\r\n")
                writer.append(connection)
                writer.append("\r\n")
                return writer.count
            }
        }
        return out
    }

    /// The bytes of a URI authority (RFC 3986 §3.2): unreserved, sub-delims, ":", "[", "]" and "%" (of
    /// percent-encoding). Anything else in a Host (a space, "/", "@", a quote) is refused rather than
    /// written into `Location`.
    private static let isAuthorityByte: [Bool] = (0..<256).map { byte in
        switch UInt8(byte) {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        default:
            "-._~!$&'()*+,;=:[]%".utf8.contains(UInt8(byte))
        }
    }
}

/// Appends bytes to memory known to be large enough (the caller computed the capacity).
private struct RawWriter {
    let target: UnsafeMutableRawBufferPointer
    private(set) var count = 0

    init(_ target: UnsafeMutableRawBufferPointer) { self.target = target }

    /// The `Connection` line a head ends with, if any.
    mutating func append(_ connection: HeadWriter.ConnectionField) {
        switch connection {
        case .none: break
        case .keepAlive: append("Connection: keep-alive\r\n")
        case .close: append("Connection: close\r\n")
        }
    }

    @inline(__always)
    mutating func append(_ source: UnsafeRawBufferPointer) {
        precondition(count + source.count <= target.count)
        guard let from = source.baseAddress, source.count > 0 else { return }
        (target.baseAddress! + count).copyMemory(from: from, byteCount: source.count)
        count += source.count
    }

    @inline(__always)
    mutating func append(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) {
        append(UnsafeRawBufferPointer(rebasing: bytes[range]))
    }

    /// `bytes[start..<end]` without the `dropped` ranges (in order).
    mutating func append(_ bytes: UnsafeRawBufferPointer, from start: Int, to end: Int, skipping dropped: [Range<Int>]) {
        var position = start
        for range in dropped {
            if range.lowerBound > position { append(bytes, position..<range.lowerBound) }
            position = max(position, range.upperBound)
        }
        if end > position { append(bytes, position..<end) }
    }

    /// A non-negative integer in decimal.
    mutating func appendDecimal(_ value: Int) {
        var scratch: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: room for any Int
        withUnsafeMutableBytes(of: &scratch) { digits in
            var remaining = max(value, 0)
            var position = digits.count
            repeat {
                position -= 1
                digits[position] = UInt8(ascii: "0") + UInt8(remaining % 10)
                remaining /= 10
            } while remaining > 0
            append(UnsafeRawBufferPointer(rebasing: digits[position...]))
        }
    }

    @inline(__always)
    mutating func append(_ text: StaticString) {
        append(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }
}
