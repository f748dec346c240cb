import Synchronization

/// Request counters of one listener, pool or backend: requests, responses by class, retries,
/// failures, requests in flight and a latency histogram. Updated on the event loops with relaxed
/// atomic adds (no locks on the request path), read by /metrics.
public final class TrafficCounters: Sendable {
    /// Upper bounds (seconds) of the latency histogram's buckets; the last bucket is +Inf.
    public static let latencyBounds: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
    /// The same bounds in nanoseconds, for the request path.
    private static let latencyBoundsNanoseconds: [Int64] = latencyBounds.map { Int64($0 * 1e9) }

    /// A consistent-enough copy for rendering.
    public struct Counts: Sendable {
        public var requests = 0
        /// Responses by class: index 1 is 1xx … index 5 is 5xx.
        public var responses = [Int](repeating: 0, count: 6)
        public var retries = 0
        /// Connect failures, timeouts and broken exchanges (the client got a 502/504 or a cut response).
        public var failures = 0
        public var inFlight = 0
        public var connections = 0
        public var activeConnections = 0
        public var latencyBuckets = [Int](repeating: 0, count: TrafficCounters.latencyBounds.count + 1)
        public var latencySum = 0.0
        /// Listeners: pauses of accepting, by `AcceptPauseKind.rawValue`.
        public var acceptPauses = [Int](repeating: 0, count: AcceptPauseKind.allCases.count)
        /// Listeners: expired timeouts, by `TimeoutPhase.rawValue`.
        public var timeouts = [Int](repeating: 0, count: TimeoutPhase.allCases.count)
        /// Listeners: connections and requests refused by a per-client rate limit.
        public var rateLimitedConnections = 0
        public var rateLimitedRequests = 0
    }

    /// Which timeout expired, as counted.
    public enum TimeoutPhase: Int, CaseIterable, Sendable {
        case clientHead, clientBody, clientSend, clientIdle, backendConnect, backendResponse, backendBody, tcpIdle

        public var label: String {
            switch self {
            case .clientHead: "client_head"
            case .clientBody: "client_body"
            case .clientSend: "client_send"
            case .clientIdle: "client_idle"
            case .backendConnect: "backend_connect"
            case .backendResponse: "backend_response"
            case .backendBody: "backend_body"
            case .tcpIdle: "tcp_idle"
            }
        }
    }

    /// Why a listener paused accepting, as counted.
    public enum AcceptPauseKind: Int, CaseIterable, Sendable {
        case connectionLimit, outOfResources

        public var label: String {
            switch self {
            case .connectionLimit: "connection_limit"
            case .outOfResources: "out_of_resources"
            }
        }
    }

    private let requests = Atomic(0)
    private let responses: InlineArray<6, Atomic<Int>> = InlineArray { _ in Atomic(0) }
    private let retries = Atomic(0)
    private let failures = Atomic(0)
    private let inFlight = Atomic(0)
    private let connections = Atomic(0)
    private let activeConnections = Atomic(0)
    private let latencyBuckets: InlineArray<14, Atomic<Int>> = InlineArray { _ in Atomic(0) }
    private let latencyNanoseconds = Atomic(0)
    private let acceptPauses: InlineArray<2, Atomic<Int>> = InlineArray { _ in Atomic(0) }
    private let timeouts: InlineArray<8, Atomic<Int>> = InlineArray { _ in Atomic(0) }
    private let rateLimitedConnections = Atomic(0)
    private let rateLimitedRequests = Atomic(0)

    public init() {}

    /// Requests in flight plus active TCP sessions, without a whole `snapshot` (API lists ask per backend).
    var inFlightAndActive: Int {
        inFlight.load(ordering: .relaxed) + activeConnections.load(ordering: .relaxed)
    }

    public var snapshot: Counts {
        var counts = Counts()
        counts.requests = requests.load(ordering: .relaxed)
        for index in 0..<6 { counts.responses[index] = responses[index].load(ordering: .relaxed) }
        counts.retries = retries.load(ordering: .relaxed)
        counts.failures = failures.load(ordering: .relaxed)
        counts.inFlight = inFlight.load(ordering: .relaxed)
        counts.connections = connections.load(ordering: .relaxed)
        counts.activeConnections = activeConnections.load(ordering: .relaxed)
        for index in 0..<14 { counts.latencyBuckets[index] = latencyBuckets[index].load(ordering: .relaxed) }
        counts.latencySum = Double(latencyNanoseconds.load(ordering: .relaxed)) / 1e9
        for kind in AcceptPauseKind.allCases { counts.acceptPauses[kind.rawValue] = acceptPauses[kind.rawValue].load(ordering: .relaxed) }
        for phase in TimeoutPhase.allCases { counts.timeouts[phase.rawValue] = timeouts[phase.rawValue].load(ordering: .relaxed) }
        counts.rateLimitedConnections = rateLimitedConnections.load(ordering: .relaxed)
        counts.rateLimitedRequests = rateLimitedRequests.load(ordering: .relaxed)
        return counts
    }

    @inline(__always)
    func requestStarted() {
        requests.wrappingAdd(1, ordering: .relaxed)
        inFlight.wrappingAdd(1, ordering: .relaxed)
    }

    /// The end of a request that was started: its status (nil: no response) and duration.
    func requestFinished(status: Int?, nanoseconds: Int64) {
        inFlight.wrappingSubtract(1, ordering: .relaxed)
        if let status {
            responses[min(max(status / 100, 1), 5)].wrappingAdd(1, ordering: .relaxed)
        } else {
            failures.wrappingAdd(1, ordering: .relaxed)
        }
        var bucket = 0
        while bucket < 13, nanoseconds > Self.latencyBoundsNanoseconds[bucket] { bucket += 1 }
        latencyBuckets[bucket].wrappingAdd(1, ordering: .relaxed)
        latencyNanoseconds.wrappingAdd(Int(nanoseconds), ordering: .relaxed)
    }

    /// A response the proxy answered itself (no backend involved).
    func answered(status: Int) {
        requests.wrappingAdd(1, ordering: .relaxed)
        responses[min(max(status / 100, 1), 5)].wrappingAdd(1, ordering: .relaxed)
    }

    func retried() { retries.wrappingAdd(1, ordering: .relaxed) }
    func failed() { failures.wrappingAdd(1, ordering: .relaxed) }

    func connectionOpened() {
        connections.wrappingAdd(1, ordering: .relaxed)
        activeConnections.wrappingAdd(1, ordering: .relaxed)
    }

    func connectionClosed() { activeConnections.wrappingSubtract(1, ordering: .relaxed) }

    func acceptPaused(_ kind: AcceptPauseKind) { acceptPauses[kind.rawValue].wrappingAdd(1, ordering: .relaxed) }

    func timedOut(_ phase: TimeoutPhase) { timeouts[phase.rawValue].wrappingAdd(1, ordering: .relaxed) }

    func connectionRateLimited() { rateLimitedConnections.wrappingAdd(1, ordering: .relaxed) }

    func requestRateLimited() { rateLimitedRequests.wrappingAdd(1, ordering: .relaxed) }
}
