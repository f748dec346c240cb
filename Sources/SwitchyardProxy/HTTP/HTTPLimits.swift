import NIOCore

/// The limits a request head must keep before it reaches a backend (DESIGN.md, hardening).
public struct HTTPLimits: Sendable, Equatable {
    /// Longest request line; a longer one is answered 414.
    public var maxRequestLineBytes: Int
    /// Largest head (request line and header fields); a larger one is answered 431.
    public var maxHeadBytes: Int
    /// Most header fields; more are answered 431.
    public var maxHeaderFields: Int
    /// How long a client may take to send a complete head (from its first byte, or from the end of the
    /// previous response on a kept-alive connection); then it gets 408.
    public var headTimeout: TimeAmount
    /// How long a kept-alive client connection may sit idle between requests before it is closed.
    public var clientIdleTimeout: TimeAmount

    public init(
        maxRequestLineBytes: Int = 8 * 1024, maxHeadBytes: Int = 64 * 1024, maxHeaderFields: Int = 100,
        headTimeout: TimeAmount = .seconds(10), clientIdleTimeout: TimeAmount = .seconds(60)
    ) {
        self.maxRequestLineBytes = maxRequestLineBytes
        self.maxHeadBytes = maxHeadBytes
        self.maxHeaderFields = maxHeaderFields
        self.headTimeout = headTimeout
        self.clientIdleTimeout = clientIdleTimeout
    }
}
