import Synchronization

/// Request counters of one listener, pool or backend: requests, responses by class, retries,
/// failures, requests in flight and a latency histogram. Updated on the event loops, read by /metrics.
public final class TrafficCounters: Sendable {
    /// Upper bounds (seconds) of the latency histogram's buckets; the last bucket is +Inf.
    public static let latencyBounds: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

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
    }

    private let counts = Mutex(Counts())

    public init() {}

    public var snapshot: Counts { counts.withLock { $0 } }

    func requestStarted() {
        counts.withLock {
            $0.requests += 1
            $0.inFlight += 1
        }
    }

    func requestFinished(status: Int?, seconds: Double) {
        counts.withLock {
            $0.inFlight -= 1
            if let status {
                $0.responses[min(max(status / 100, 1), 5)] += 1
            } else {
                $0.failures += 1
            }
            var bucket = 0
            while bucket < Self.latencyBounds.count, seconds > Self.latencyBounds[bucket] { bucket += 1 }
            $0.latencyBuckets[bucket] += 1
            $0.latencySum += seconds
        }
    }

    /// A response the proxy answered itself (no backend involved).
    func answered(status: Int) {
        counts.withLock {
            $0.requests += 1
            $0.responses[min(max(status / 100, 1), 5)] += 1
        }
    }

    func retried() { counts.withLock { $0.retries += 1 } }
    func failed() { counts.withLock { $0.failures += 1 } }

    func connectionOpened() {
        counts.withLock {
            $0.connections += 1
            $0.activeConnections += 1
        }
    }

    func connectionClosed() { counts.withLock { $0.activeConnections -= 1 } }
}
