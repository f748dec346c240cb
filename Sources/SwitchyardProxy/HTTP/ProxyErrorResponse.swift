import NIOCore

/// The small responses the proxy answers itself: 4xx for requests it refuses, 502/503/504 when no
/// backend answers. Always `Connection: close` for 4xx (the stream may be out of sync).
enum ProxyErrorResponse {
    static func make(
        status: Int, detail: String, close: Bool, retryAfter: Int? = nil, strictTransportSecurity: [UInt8]? = nil,
        allocator: ByteBufferAllocator
    ) -> ByteBuffer {
        let body = "\(status) \(reason(status)): \(detail)\n"
        var buffer = allocator.buffer(capacity: 180 + (strictTransportSecurity?.count ?? 0) + body.utf8.count)
        buffer.writeString("HTTP/1.1 \(status) \(reason(status))\r\n")
        buffer.writeStaticString("Content-Type: text/plain; charset=utf-8\r\nCache-Control: no-store\r\n")
        if let retryAfter { buffer.writeString("Retry-After: \(retryAfter)\r\n") }
        buffer.writeString("Content-Length: \(body.utf8.count)\r\n")
        if let strictTransportSecurity { buffer.writeBytes(strictTransportSecurity) }
        if close { buffer.writeStaticString("Connection: close\r\n") }
        buffer.writeStaticString("\r\n")
        buffer.writeString(body)
        return buffer
    }

    static func reason(_ status: Int) -> String {
        switch status {
        case 400: "Bad Request"
        case 408: "Request Timeout"
        case 414: "URI Too Long"
        case 429: "Too Many Requests"
        case 431: "Request Header Fields Too Large"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        case 504: "Gateway Timeout"
        case 505: "HTTP Version Not Supported"
        default: "Error"
        }
    }
}
