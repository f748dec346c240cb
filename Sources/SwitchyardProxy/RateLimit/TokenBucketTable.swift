/// Token buckets by client key, with the time passed in: the pure part of per-client rate limits. A
/// bucket holds up to `burst` tokens and refills at `rate` per second; each connection or request
/// takes one. A bucket that has refilled completely equals a new one, so it is forgotten when the
/// table grows: memory follows the clients seen recently, not every client ever seen.
struct TokenBucketTable: Sendable {
    struct Bucket: Equatable, Sendable {
        var tokens: Double
        /// Nanoseconds (any monotonic origin) of the last refill.
        var updated: Int64
    }

    let rate: Double
    let burst: Double
    private(set) var buckets: [UInt64: Bucket] = [:]
    /// The size at which the next insertion sweeps out full buckets.
    private var sweepAt = 4096

    init(rate: Int, burst: Int) {
        self.rate = Double(max(rate, 1))
        self.burst = Double(max(burst, 1))
    }

    /// Takes a token of `key`'s bucket at `now`: nil when there was one, else the whole seconds (at
    /// least 1) until there will be, for `Retry-After`.
    mutating func take(_ key: UInt64, now: Int64) -> Int? {
        var bucket: Bucket
        if let existing = buckets[key] {
            bucket = existing
            bucket.tokens = min(burst, bucket.tokens + Double(max(0, now - bucket.updated)) / 1e9 * rate)
        } else {
            if buckets.count >= sweepAt { sweep(now: now) }
            bucket = Bucket(tokens: burst, updated: now)
        }
        bucket.updated = now
        defer { buckets[key] = bucket }
        if bucket.tokens >= 1 {
            bucket.tokens -= 1
            return nil
        }
        return max(1, Int(((1 - bucket.tokens) / rate).rounded(.up)))
    }

    /// Forgets the buckets that are full again by `now`.
    mutating func sweep(now: Int64) {
        let rate = rate
        let burst = burst
        buckets = buckets.filter { _, bucket in bucket.tokens + Double(max(0, now - bucket.updated)) / 1e9 * rate < burst }
        sweepAt = max(4096, buckets.count * 2)
    }
}
