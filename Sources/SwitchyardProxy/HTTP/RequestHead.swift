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
    /// The values of X-Forwarded-For fields already present, to extend when the client is a trusted proxy.
    public var forwardedFor: [Range<Int>]
    /// The values of Forwarded fields already present (RFC 7239), likewise.
    public var forwarded: [Range<Int>] = []
    /// The last X-Forwarded-Proto and X-Forwarded-Host values, kept only from a trusted proxy.
    public var forwardedProto: Range<Int>?
    public var forwardedHost: Range<Int>?
    /// "scheme://authority" of an absolute-form target: left out when forwarding, so that the backend
    /// gets the origin form (RFC 9112 §3.2.2), "/" when the target has no path.
    public var absolutePrefix: Range<Int>?
    /// An HTTP/1.0 absolute-form request without Host: `host` is the target's authority, and a Host
    /// line with it is added when forwarding.
    public var hostFromTarget = false
    /// Set when Content-Length came as a list or in several (identical) lines: all of them are left
    /// out and exactly one `Content-Length: N` is forwarded (RFC 9110 §8.6).
    public var rewrittenContentLength: Int?
    /// Whole lines (with their CRLF), in order, not forwarded: hop-by-hop fields and X-Forwarded-* that
    /// the proxy sets itself.
    public var droppedLines: [Range<Int>]
}
