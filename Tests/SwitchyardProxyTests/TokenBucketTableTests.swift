import Testing

@testable import SwitchyardProxy

@Suite struct TokenBucketTableTests {
    static let second: Int64 = 1_000_000_000

    @Test("a burst, then the rate; Retry-After says when the next token comes")
    func burstThenRate() {
        var table = TokenBucketTable(rate: 2, burst: 3)
        for _ in 0..<3 { #expect(table.take(7, now: 0) == nil) }
        #expect(table.take(7, now: 0) == 1)
        // Half a second at 2 per second: one token.
        #expect(table.take(7, now: Self.second / 2) == nil)
        #expect(table.take(7, now: Self.second / 2) == 1)
        // Another client has its own bucket.
        #expect(table.take(8, now: Self.second / 2) == nil)
        // Refilled, but never above the burst.
        for _ in 0..<3 { #expect(table.take(7, now: 100 * Self.second) == nil) }
        #expect(table.take(7, now: 100 * Self.second) != nil)
    }

    @Test func retryAfterRoundsUpToWholeSeconds() {
        var slow = TokenBucketTable(rate: 1, burst: 1)
        #expect(slow.take(1, now: 0) == nil)
        #expect(slow.take(1, now: Self.second / 10) == 1)
        var slower = TokenBucketTable(rate: 1, burst: 1)
        #expect(slower.take(1, now: 0) == nil)
        #expect(slower.take(1, now: 0) == 1)
    }

    @Test("full buckets are forgotten when the table grows: memory follows recent clients")
    func sweep() {
        var table = TokenBucketTable(rate: 1, burst: 1)
        for key in 0..<4096 { #expect(table.take(UInt64(key), now: 0) == nil) }
        #expect(table.buckets.count == 4096)
        // Two seconds later every bucket is full again; the next new client sweeps them out.
        #expect(table.take(999_999, now: 2 * Self.second) == nil)
        #expect(table.buckets.count == 1)
        // Empty buckets are kept (they still limit their clients).
        for key in 0..<10 { _ = table.take(UInt64(key), now: 2 * Self.second) }
        table.sweep(now: 2 * Self.second)
        #expect(table.buckets.count == 11)
    }

    @Test func clientKeys() {
        let v4 = ClientRateLimiter.clientKey([192, 0, 2, 1])
        #expect(v4 == 0xFFFF_FFFF_C000_0201)
        let a: [UInt8] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1] + [UInt8](repeating: 1, count: 8)
        let b: [UInt8] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1] + [UInt8](repeating: 2, count: 8)
        #expect(ClientRateLimiter.clientKey(a) == ClientRateLimiter.clientKey(b))
    }
}
