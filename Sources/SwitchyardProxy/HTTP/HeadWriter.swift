import NIOCore

/// Writes the heads the proxy forwards: the request head with hop-by-hop lines left out and
/// X-Forwarded-For/-Proto/-Host set, and the response head with hop-by-hop lines left out.
enum HeadWriter {
    /// The request head as the backend gets it. `head` holds offsets into `received`.
    static func request(
        _ head: RequestHead, from received: ByteBuffer, clientIP: String, scheme: StaticString, allocator: ByteBufferAllocator
    ) -> ByteBuffer {
        var out = allocator.buffer(capacity: head.fieldsEnd - head.start + 96 + clientIP.utf8.count + (head.host?.count ?? 0))
        received.withUnsafeReadableBytes { bytes in
            copy(bytes, from: head.start, to: head.fieldsEnd, skipping: head.droppedLines, into: &out)
            out.writeStaticString("X-Forwarded-For: ")
            for range in head.forwardedFor {
                out.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[range]))
                out.writeStaticString(", ")
            }
            out.writeString(clientIP)
            out.writeStaticString("\r\nX-Forwarded-Proto: ")
            out.writeStaticString(scheme)
            if let host = head.host {
                out.writeStaticString("\r\nX-Forwarded-Host: ")
                out.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[host]))
            }
            out.writeStaticString("\r\n\r\n")
        }
        return out
    }

    /// The response head as the client gets it, or nil when it can go as received.
    static func response(_ head: ResponseHead, from received: ByteBuffer, connection: StaticString?, allocator: ByteBufferAllocator)
        -> ByteBuffer?
    {
        guard !head.droppedLines.isEmpty || connection != nil else { return nil }
        var out = allocator.buffer(capacity: head.length + 24)
        received.withUnsafeReadableBytes { bytes in
            copy(bytes, from: 0, to: head.fieldsEnd, skipping: head.droppedLines, into: &out)
        }
        if let connection {
            out.writeStaticString("Connection: ")
            out.writeStaticString(connection)
            out.writeStaticString("\r\n")
        }
        out.writeStaticString("\r\n")
        return out
    }

    private static func copy(
        _ bytes: UnsafeRawBufferPointer, from start: Int, to end: Int, skipping dropped: [Range<Int>], into out: inout ByteBuffer
    ) {
        var position = start
        for range in dropped {
            if range.lowerBound > position { out.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[position..<range.lowerBound])) }
            position = max(position, range.upperBound)
        }
        if end > position { out.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[position..<end])) }
    }
}
