import Testing

@testable import SwitchyardCore
@testable import SwitchyardProxy

@Suite("Traffic counters read as values")
struct TrafficCountersTests {
    @Test("a duration falls into the first bucket whose bound it does not pass; past the last bound it counts above them")
    func latencyBuckets() {
        let counters = TrafficCounters()
        for nanoseconds: Int64 in [1, 500_000, 500_001, 30_000_000_000, 30_000_000_001] {
            counters.requestStarted()
            counters.requestFinished(status: 200, nanoseconds: nanoseconds)
        }
        let traffic = counters.traffic
        #expect(traffic.duration.bounds == LatencyBuckets.proxyRequest)
        var expected = Array(repeating: 0, count: LatencyBuckets.proxyRequest.count + 1)
        expected[0] = 2
        expected[1] = 1
        expected[LatencyBuckets.proxyRequest.count - 1] = 1
        expected[LatencyBuckets.proxyRequest.count] = 1
        #expect(traffic.duration.counts == expected)
        #expect(traffic.duration.sum == .nanoseconds(60_001_000_003))
        #expect(traffic.requests == 5 && traffic.inFlight == 0 && traffic.responsesByClass == [0, 5, 0, 0, 0])
    }

    @Test("a listener's own counts: accept pauses, timeouts by phase, rate-limited connections and requests")
    func listenerCounts() {
        let counters = TrafficCounters()
        counters.acceptPaused(.outOfResources)
        counters.timedOut(.clientIdle)
        counters.timedOut(.clientIdle)
        counters.requestRateLimited()
        counters.answered(status: 429)
        let listener = counters.listener(named: "front")
        #expect(listener.name == "front")
        #expect(listener.acceptPauses == [0, 1])
        #expect(listener.timeouts[DataPlaneMetrics.TimeoutPhase.clientIdle.rawValue] == 2)
        #expect(listener.timeouts.reduce(0, +) == 2)
        #expect(listener.rateLimitedConnections == 0 && listener.rateLimitedRequests == 1)
        #expect(listener.traffic.responsesByClass == [0, 0, 0, 1, 0])
    }
}
