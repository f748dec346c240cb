import Foundation

/// The data plane as the control plane sees it: told of each applied snapshot, and asked for backend
/// health as this instance sees it, listener sockets, connection counts and its counters. Control
/// uses it through this protocol so that it needs no proxy code (and the proxy no control code).
public protocol DataPlane: Sendable {
    /// Called after each snapshot swap: sockets, probes and drains follow it.
    func apply(_ config: RuntimeConfig) async
    /// Health of every backend by "pool/backend".
    func backendHealth() -> [String: BackendHealthReport]
    /// Health of one backend ("pool/backend"): a write's answer needs one, not a copy of all.
    func backendHealth(backend key: String) -> BackendHealthReport?
    /// Requests in flight or TCP sessions to "pool/backend" on this instance.
    func activeConnections(backend key: String) -> Int
    /// Requests in flight or TCP sessions of every backend with any, by "pool/backend".
    func activeConnections() -> [String: Int]
    /// The socket state of every listener by name.
    func listenerStates() -> [String: ListenerBindState]
    /// Every counter of this instance's data plane, summed at this moment (`/metrics` writes them out).
    func metrics() -> DataPlaneMetrics
}

public struct BackendHealthReport: Codable, Equatable, Sendable {
    public var status: HealthStatus
    public var reason: String
    public var since: Date

    public init(status: HealthStatus, reason: String, since: Date) {
        self.status = status
        self.reason = reason
        self.since = since
    }
}

public struct ListenerBindState: Codable, Equatable, Sendable {
    public var bound: Bool
    /// Why the listener is not bound (e.g. "address already in use"), when it is not; for a bound https
    /// listener, why it still serves its previous certificates (a new one that cannot be used).
    public var error: String?

    public init(bound: Bool, error: String? = nil) {
        self.bound = bound
        self.error = error
    }
}
