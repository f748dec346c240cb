/// What the proxy needs of a backend's response head, as offsets into the received bytes.
public struct ResponseHead: Sendable, Equatable {
    /// Bytes up to and including the empty line that ends the head.
    public var length: Int
    /// Where the empty line that ends the head starts.
    public var fieldsEnd: Int
    public var status: Int
    public var framing: BodyFraming
    /// Whether the backend connection may be reused after this response.
    public var reusable: Bool
    /// Hop-by-hop lines (with their CRLF), in order, not forwarded to the client.
    public var droppedLines: [Range<Int>]
    /// A `Connection` line whose only token is `keep-alive` (with its CRLF). Not in `droppedLines`: it
    /// is as true of the client's hop as of the backend's, so a response to a client whose connection
    /// stays open goes out unchanged (no copy of the head); any rewrite leaves it out.
    public var keepAliveLine: Range<Int>? = nil
    /// The backend's `Strict-Transport-Security` lines (with their CRLF): forwarded, unless the listener
    /// sets its own (`hsts_max_age_s`), which replaces them.
    public var strictTransportSecurityLines: [Range<Int>] = []

    /// 1xx other than 101: an interim response; the final one follows on the same connection.
    public var isInterim: Bool { status >= 100 && status < 200 }
}
