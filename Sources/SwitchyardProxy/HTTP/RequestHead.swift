/// What the proxy needs of a request head, as offsets into the received bytes: routing (host, path),
/// framing, keep-alive and retry safety, and which lines to leave out when forwarding.
public struct RequestHead: Sendable, Equatable {
    /// Where the request line starts (empty lines before it are skipped, as RFC 9112 allows).
    public var start: Int
    /// Bytes up to and including the empty line that ends the head.
    public var length: Int
    /// Where the empty line that ends the head starts: headers end here.
    public var fieldsEnd: Int
    public var method: Range<Int>
    public var target: Range<Int>
    /// The path of the target (no query); empty for an absolute-form target without one ("/").
    public var path: Range<Int>
    public var isHTTP11: Bool
    public var host: Range<Int>?
    public var framing: BodyFraming
    /// Whether the client wants the connection kept open after the response.
    public var keepAlive: Bool
    /// GET, HEAD, PUT, DELETE, OPTIONS and TRACE: safe to send again if no response byte has arrived.
    public var isIdempotent: Bool
    /// A response to HEAD has no body, whatever its headers say.
    public var isHead: Bool
    /// The values of X-Forwarded-For fields already present, to extend.
    public var forwardedFor: [Range<Int>]
    /// Whole lines (with their CRLF), in order, not forwarded: hop-by-hop fields and X-Forwarded-* that
    /// the proxy sets itself.
    public var droppedLines: [Range<Int>]
}
