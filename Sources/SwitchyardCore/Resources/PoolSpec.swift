/// A balancer pool's settings, fully resolved (every default filled in) and valid.
public struct PoolSpec: Codable, Equatable, Sendable {
    public var `protocol`: PoolProtocol
    public var algorithm: BalancingAlgorithm
    public var mode: PoolMode
    public var healthCheck: HealthCheckSpec
    public var passive: PassiveHealthSpec
    public var retries: Int
    public var timeouts: TimeoutsSpec
    public var drainTimeoutMs: Int
    public var minHealthyPercent: Int

    public static let defaults = PoolSpec(
        protocol: .http,
        algorithm: .roundRobin,
        mode: .activeActive,
        healthCheck: .defaults,
        passive: .defaults,
        retries: 2,
        timeouts: .defaults,
        drainTimeoutMs: 30_000,
        minHealthyPercent: 0
    )

    public init(
        protocol: PoolProtocol, algorithm: BalancingAlgorithm, mode: PoolMode, healthCheck: HealthCheckSpec,
        passive: PassiveHealthSpec, retries: Int, timeouts: TimeoutsSpec, drainTimeoutMs: Int, minHealthyPercent: Int
    ) {
        self.protocol = `protocol`
        self.algorithm = algorithm
        self.mode = mode
        self.healthCheck = healthCheck
        self.passive = passive
        self.retries = retries
        self.timeouts = timeouts
        self.drainTimeoutMs = drainTimeoutMs
        self.minHealthyPercent = minHealthyPercent
    }
}

public enum PoolProtocol: String, Codable, Sendable, CaseIterable {
    case http, tcp
}

public enum BalancingAlgorithm: String, Codable, Sendable, CaseIterable {
    case roundRobin = "round_robin"
    case leastConnections = "least_connections"
    case randomTwoChoices = "random_two_choices"
    case sourceHash = "source_hash"
    case consistentHash = "consistent_hash"
}

public enum PoolMode: String, Codable, Sendable, CaseIterable {
    case activeActive = "active_active"
    /// Backups serve only when no primary is healthy.
    case activePassive = "active_passive"
}
