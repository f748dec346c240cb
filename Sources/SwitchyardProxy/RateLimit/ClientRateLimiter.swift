import NIOCore
import Synchronization
import SwitchyardCore

/// A listener's per-client rate limits, shared by every event loop: token buckets by client address
/// (an IPv4 address, or an IPv6 /64), in shards with a lock each, so that loops seldom wait for one
/// another. Consulted only when the listener has a limit of that kind.
final class ClientRateLimiter: Sendable {
    private final class Shard: Sendable {
        let table: Mutex<TokenBucketTable>
        init(_ table: TokenBucketTable) { self.table = Mutex(table) }
    }

    static let shardCount = 16
    let spec: RateLimitSpec
    private let connections: [Shard]
    private let requests: [Shard]

    init(_ spec: RateLimitSpec) {
        self.spec = spec
        func shards(_ rate: Int?, _ burst: Int?) -> [Shard] {
            guard let rate else { return [] }
            return (0..<Self.shardCount).map { _ in Shard(TokenBucketTable(rate: rate, burst: burst ?? rate)) }
        }
        connections = shards(spec.connectionsPerSecond, spec.connectionBurst)
        requests = shards(spec.requestsPerSecond, spec.requestBurst)
    }

    var limitsRequests: Bool { !requests.isEmpty }

    /// nil: the client may open a connection now; else the seconds until it may.
    func admitConnection(_ client: UInt64, now: NIODeadline = .now()) -> Int? { Self.take(connections, client, now) }

    /// nil: the client may send a request now; else the seconds until it may.
    func admitRequest(_ client: UInt64, now: NIODeadline = .now()) -> Int? { Self.take(requests, client, now) }

    private static func take(_ shards: [Shard], _ client: UInt64, _ now: NIODeadline) -> Int? {
        guard !shards.isEmpty else { return nil }
        let shard = shards[Int(truncatingIfNeeded: (client ^ (client >> 29)) % UInt64(shardCount))]
        return shard.table.withLock { $0.take(client, now: now.uptimeNanoseconds > UInt64(Int64.max) ? .max : Int64(now.uptimeNanoseconds)) }
    }

    /// The key of a client address (4 or 16 bytes): an IPv4 address whole, an IPv6 address by its /64.
    static func clientKey(_ address: [UInt8]) -> UInt64 {
        var key: UInt64 = 0
        for byte in address.prefix(8) { key = key << 8 | UInt64(byte) }
        return address.count == 4 ? key | 0xFFFF_FFFF_0000_0000 : key
    }
}

/// The rate limiters of the listeners, by name: one per listener and `rate_limit` setting, so that
/// the buckets survive changes to anything else, and start afresh when the limits change.
final class RateLimiterRegistry: Sendable {
    private let limiters = Mutex<[String: ClientRateLimiter]>([:])

    /// The limiter for `listener` with `spec`; nil when it has none.
    func limiter(for listener: String, _ spec: RateLimitSpec?) -> ClientRateLimiter? {
        guard let spec else { return nil }
        return limiters.withLock { limiters in
            if let existing = limiters[listener], existing.spec == spec { return existing }
            let created = ClientRateLimiter(spec)
            limiters[listener] = created
            return created
        }
    }

    /// Forgets the limiters of listeners that are gone or have no limits any more.
    func retain(_ listeners: [String: RuntimeListener]) {
        limiters.withLock { limiters in
            limiters = limiters.filter { name, _ in listeners[name]?.spec.rateLimit != nil }
        }
    }
}
