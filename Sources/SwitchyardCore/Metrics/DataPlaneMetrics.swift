/// The data plane's counters at one moment, as values: what the control plane exposes at `/metrics`.
/// Names are kept apart (a backend's pool and name are two fields), and the format is the control
/// plane's business.
public struct DataPlaneMetrics: Equatable, Sendable {
    /// Traffic of each listener that has counters, by name.
    public var listeners: [Listener]
    /// Traffic of each pool that has counters, by name.
    public var pools: [Pool]
    /// Traffic of each backend that has counters, by pool and name.
    public var backends: [Backend]
    /// The socket state of every listener, by name.
    public var listenerSockets: [ListenerSocket]
    /// The health of every tracked backend, by pool and name.
    public var backendHealth: [BackendHealth]
    /// Every certificate of the snapshot in force (its key opened), by name, with its leaf's end of validity.
    public var certificates: [CertificateExpiry]

    public init(
        listeners: [Listener] = [], pools: [Pool] = [], backends: [Backend] = [], listenerSockets: [ListenerSocket] = [],
        backendHealth: [BackendHealth] = [], certificates: [CertificateExpiry] = []
    ) {
        self.listeners = listeners
        self.pools = pools
        self.backends = backends
        self.listenerSockets = listenerSockets
        self.backendHealth = backendHealth
        self.certificates = certificates
    }

    /// When one certificate's leaf stops being valid (its `not_after`, RFC 3339 as stored).
    public struct CertificateExpiry: Equatable, Sendable {
        public var name: String
        public var notAfter: String

        public init(name: String, notAfter: String) {
            self.name = name
            self.notAfter = notAfter
        }
    }

    /// Request counters of one listener, pool or backend.
    public struct Traffic: Equatable, Sendable {
        /// Requests received (listener) or sent (pool, backend); TCP: sessions.
        public var requests = 0
        /// Responses by status class: index 0 is 1xx … index 4 is 5xx.
        public var responsesByClass = [0, 0, 0, 0, 0]
        public var retries = 0
        /// Connect failures, timeouts and broken exchanges (the client got a 502/504 or a cut response).
        public var failures = 0
        public var inFlight = 0
        /// Connections accepted (listener) or TCP sessions opened (backend).
        public var connections = 0
        public var activeConnections = 0
        public var duration: Histogram

        public init(duration: Histogram) {
            self.duration = duration
        }
    }

    /// Observations counted by bucket: `counts[i]` are those above `bounds[i - 1]` and at most
    /// `bounds[i]`; the last count, one past the bounds, those above every bound.
    public struct Histogram: Equatable, Sendable {
        public var bounds: [Duration]
        public var counts: [Int]
        public var sum: Duration

        public init(bounds: [Duration], counts: [Int], sum: Duration) {
            precondition(counts.count == bounds.count + 1, "one count per bound, and one above them")
            self.bounds = bounds
            self.counts = counts
            self.sum = sum
        }

        public var count: Int { counts.reduce(0, +) }
    }

    /// Which timeout of a listener's connections expired.
    public enum TimeoutPhase: Int, CaseIterable, Sendable {
        case clientHead, clientBody, clientSend, clientIdle, backendConnect, backendResponse, backendBody, tcpIdle
    }

    /// Why a listener paused accepting.
    public enum AcceptPause: Int, CaseIterable, Sendable {
        case connectionLimit, outOfResources
    }

    public struct Listener: Equatable, Sendable {
        public var name: String
        public var traffic: Traffic
        /// Pauses of accepting, by `AcceptPause.rawValue`.
        public var acceptPauses: [Int]
        /// Expired timeouts, by `TimeoutPhase.rawValue`.
        public var timeouts: [Int]
        /// Connections and requests refused by a per-client rate limit.
        public var rateLimitedConnections: Int
        public var rateLimitedRequests: Int

        public init(
            name: String, traffic: Traffic, acceptPauses: [Int] = Array(repeating: 0, count: AcceptPause.allCases.count),
            timeouts: [Int] = Array(repeating: 0, count: TimeoutPhase.allCases.count), rateLimitedConnections: Int = 0,
            rateLimitedRequests: Int = 0
        ) {
            self.name = name
            self.traffic = traffic
            self.acceptPauses = acceptPauses
            self.timeouts = timeouts
            self.rateLimitedConnections = rateLimitedConnections
            self.rateLimitedRequests = rateLimitedRequests
        }
    }

    public struct Pool: Equatable, Sendable {
        public var name: String
        public var traffic: Traffic

        public init(name: String, traffic: Traffic) {
            self.name = name
            self.traffic = traffic
        }
    }

    public struct Backend: Equatable, Sendable {
        public var pool: String
        public var name: String
        public var traffic: Traffic

        public init(pool: String, name: String, traffic: Traffic) {
            self.pool = pool
            self.name = name
            self.traffic = traffic
        }
    }

    public struct ListenerSocket: Equatable, Sendable {
        public var name: String
        public var bound: Bool

        public init(name: String, bound: Bool) {
            self.name = name
            self.bound = bound
        }
    }

    public struct BackendHealth: Equatable, Sendable {
        public var pool: String
        public var name: String
        /// Whether this instance sends new requests to the backend as far as health goes (false while
        /// unhealthy).
        public var up: Bool
        /// Health changes, by the state changed to.
        public var transitions: [HealthStatus: Int]

        public init(pool: String, name: String, up: Bool, transitions: [HealthStatus: Int]) {
            self.pool = pool
            self.name = name
            self.up = up
            self.transitions = transitions
        }
    }
}
