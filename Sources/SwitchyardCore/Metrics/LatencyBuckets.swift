/// The upper bounds of the latency histograms, one list per kind of duration. Every histogram of a kind
/// uses its list, so that series of one kind can be summed and compared (docs/operations.md, "Metrics").
public enum LatencyBuckets {
    /// Control API requests, from the request head to the end of the answer. A read served from memory
    /// takes about a millisecond, a write a few; `?wait=applied` may wait up to its 60 s maximum.
    public static let apiRequest: [Duration] = [
        .milliseconds(1), .microseconds(2500), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
        .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10),
        .seconds(30), .seconds(60),
    ]

    /// Proxied requests (listener, pool and backend), from the request head to the end of the response.
    /// A backend on the same network answers in well under a millisecond, so the first bucket is 0.5 ms;
    /// the last is a pool's default response timeout (30 s).
    public static let proxyRequest: [Duration] = [
        .microseconds(500), .milliseconds(1), .microseconds(2500), .milliseconds(5), .milliseconds(10), .milliseconds(25),
        .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500),
        .seconds(5), .seconds(10), .seconds(30),
    ]
}
