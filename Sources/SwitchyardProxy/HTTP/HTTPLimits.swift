import NIOCore
import SwitchyardCore

/// The limits a request must keep before it reaches a backend, and the client-side timeouts (docs/proxy.md,
/// "Hardening" and "Timeouts").
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
    /// Longest silence while a request body is received (408).
    public var bodyTimeout: TimeAmount
    /// Bytes per second a request body must average once `bodyTimeout` has passed since its head; 0: none.
    public var bodyMinRate: Int
    /// How long a client may leave a response unread (its socket full) before the connection closes.
    public var sendTimeout: TimeAmount
    /// How long a TCP session may pass no byte either way.
    public var tcpIdleTimeout: TimeAmount

    /// The defaults are the listener defaults documented in docs/proxy.md ("Timeouts"); a listener's
    /// `timeouts` override them one by one.
    public init(
        maxRequestLineBytes: Int = 8 * 1024, maxHeadBytes: Int = 64 * 1024, maxHeaderFields: Int = 100,
        headTimeout: TimeAmount = .seconds(10), clientIdleTimeout: TimeAmount = .seconds(60), bodyTimeout: TimeAmount = .seconds(30),
        bodyMinRate: Int = 500, sendTimeout: TimeAmount = .seconds(60), tcpIdleTimeout: TimeAmount = .seconds(600)
    ) {
        self.maxRequestLineBytes = maxRequestLineBytes
        self.maxHeadBytes = maxHeadBytes
        self.maxHeaderFields = maxHeaderFields
        self.headTimeout = headTimeout
        self.clientIdleTimeout = clientIdleTimeout
        self.bodyTimeout = bodyTimeout
        self.bodyMinRate = bodyMinRate
        self.sendTimeout = sendTimeout
        self.tcpIdleTimeout = tcpIdleTimeout
    }

    /// These limits with `timeouts`' fields in place of the defaults.
    public func overridden(by timeouts: ListenerTimeouts) -> HTTPLimits {
        var limits = self
        if let ms = timeouts.clientHeadMs { limits.headTimeout = .milliseconds(Int64(ms)) }
        if let ms = timeouts.clientIdleMs { limits.clientIdleTimeout = .milliseconds(Int64(ms)) }
        if let ms = timeouts.clientBodyMs { limits.bodyTimeout = .milliseconds(Int64(ms)) }
        if let rate = timeouts.clientBodyMinRate { limits.bodyMinRate = rate }
        if let ms = timeouts.clientSendMs { limits.sendTimeout = .milliseconds(Int64(ms)) }
        if let ms = timeouts.tcpIdleMs { limits.tcpIdleTimeout = .milliseconds(Int64(ms)) }
        return limits
    }
}
