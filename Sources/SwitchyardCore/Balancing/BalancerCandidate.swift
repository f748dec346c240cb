/// What a balancer sees of one backend when it picks: its weight and how busy it is. The caller filters
/// out backends that may not take new requests (draining, unhealthy, backups when primaries serve).
public struct BalancerCandidate: Equatable, Sendable {
    /// Index of the backend in the pool's snapshot.
    public var index: Int
    public var weight: Int
    public var activeConnections: Int
    /// A stable identity for hashing ("pool/backend"), so that hash balancing survives reordering.
    public var key: String

    public init(index: Int, weight: Int, activeConnections: Int = 0, key: String) {
        self.index = index
        self.weight = weight
        self.activeConnections = activeConnections
        self.key = key
    }
}
