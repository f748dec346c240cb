/// One server of a managed database cluster, as configured and assigned: the role is what the
/// control plane decided, not what the server last reported (that is a `MemberObservation`).
public struct DatabaseMember: Equatable, Sendable {
    public enum Role: String, Codable, Sendable, CaseIterable {
        case primary
        case replica
        /// A former primary that lost the role; it takes no sessions until it is rebuilt or
        /// rewound to follow the current primary.
        case needsRejoin = "needs_rejoin"
    }

    public var name: String
    public var role: Role
    /// Breaks ties between equally advanced failover candidates: the higher priority wins.
    public var priority: Int

    public init(name: String, role: Role, priority: Int = 0) {
        self.name = name
        self.role = role
        self.priority = priority
    }
}
