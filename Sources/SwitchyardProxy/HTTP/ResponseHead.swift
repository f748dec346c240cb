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

    /// 1xx other than 101: an interim response; the final one follows on the same connection.
    public var isInterim: Bool { status >= 100 && status < 200 }
}
