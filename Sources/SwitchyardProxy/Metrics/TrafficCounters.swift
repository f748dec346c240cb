import SwitchyardCore
import Synchronization

/// Request counters of one listener, pool or backend: requests, responses by class, retries,
/// failures, requests in flight and a latency histogram. Updated on the event loops with relaxed
/// atomic adds (no locks, no allocation on the request path), read by /metrics.
public final class TrafficCounters: Sendable {
    public typealias TimeoutPhase = DataPlaneMetrics.TimeoutPhase
    public typealias AcceptPauseKind = DataPlaneMetrics.AcceptPause

    /// The latency histogram's bounds: every proxied duration uses this one list.
    static let latencyBounds = LatencyBuckets.proxyRequest
    /// The same bounds in nanoseconds, for the request path.
    private static let latencyBoundsNanoseconds: [Int64] = latencyBounds.map {
        $0.components.seconds * 1_000_000_000 + $0.components.attoseconds / 1_000_000_000
    }

    private let requests = Atomic(0)
    private let responses: InlineArray<6, Atomic<Int>> = InlineArray { _ in Atomic(0) }
    private let retries = Atomic(0)
    private let failures = Atomic(0)
    private let inFlight = Atomic(0)
    private let connections = Atomic(0)
    private let activeConnections = Atomic(0)
    /// One bucket per bound of `latencyBounds` and one above them.
    private let latencyBuckets: InlineArray<16, Atomic<Int>> = InlineArray { _ in Atomic(0) }
    private let latencyNanoseconds = Atomic(0)
    private let acceptPauses: InlineArray<2, Atomic<Int>> = InlineArray { _ in Atomic(0) }
    private let timeouts: InlineArray<8, Atomic<Int>> = InlineArray { _ in Atomic(0) }
    private let rateLimitedConnections = Atomic(0)
    private let rateLimitedRequests = Atomic(0)

    public init() {
        precondition(latencyBuckets.count == Self.latencyBounds.count + 1, "one latency bucket per bound, and one above them")
    }

    /// Requests in flight plus active TCP sessions, without a whole `traffic` copy (API lists ask per backend).
    var inFlightAndActive: Int {
        inFlight.load(ordering: .relaxed) + activeConnections.load(ordering: .relaxed)
    }

    /// The request counters as they are now (each read on its own: consistent enough for metrics).
    var traffic: DataPlaneMetrics.Traffic {
        let counts = (0..<latencyBuckets.count).map { latencyBuckets[$0].load(ordering: .relaxed) }
        var traffic = DataPlaneMetrics.Traffic(
            duration: .init(
                bounds: Self.latencyBounds, counts: counts, sum: .nanoseconds(latencyNanoseconds.load(ordering: .relaxed))))
        traffic.requests = requests.load(ordering: .relaxed)
        traffic.responsesByClass = (1...5).map { responses[$0].load(ordering: .relaxed) }
        traffic.retries = retries.load(ordering: .relaxed)
        traffic.failures = failures.load(ordering: .relaxed)
        traffic.inFlight = inFlight.load(ordering: .relaxed)
        traffic.connections = connections.load(ordering: .relaxed)
        traffic.activeConnections = activeConnections.load(ordering: .relaxed)
        return traffic
    }

    /// A listener's counters: its traffic, and what only listeners count.
    func listener(named name: String) -> DataPlaneMetrics.Listener {
        DataPlaneMetrics.Listener(
            name: name, traffic: traffic,
            acceptPauses: AcceptPauseKind.allCases.map { acceptPauses[$0.rawValue].load(ordering: .relaxed) },
            timeouts: TimeoutPhase.allCases.map { timeouts[$0.rawValue].load(ordering: .relaxed) },
            rateLimitedConnections: rateLimitedConnections.load(ordering: .relaxed),
            rateLimitedRequests: rateLimitedRequests.load(ordering: .relaxed))
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
        while bucket < Self.latencyBoundsNanoseconds.count, nanoseconds > Self.latencyBoundsNanoseconds[bucket] { bucket += 1 }
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
