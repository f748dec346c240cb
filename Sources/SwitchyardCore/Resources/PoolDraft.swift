/// A pool as a request states it: every field optional. Resolving it over a base (the defaults for
/// POST/PUT, the stored pool for PATCH) gives a full `PoolSpec`, or every bad field at once.
public struct PoolDraft: Equatable, Sendable {
    public var `protocol`: PoolProtocol?
    public var algorithm: BalancingAlgorithm?
    public var mode: PoolMode?
    public var healthCheck: HealthCheckDraft?
    public var passive: PassiveHealthDraft?
    public var retries: Int?
    public var timeouts: TimeoutsDraft?
    public var drainTimeoutMs: Int?
    public var minHealthyPercent: Int?

    public init(
        protocol: PoolProtocol? = nil, algorithm: BalancingAlgorithm? = nil, mode: PoolMode? = nil,
        healthCheck: HealthCheckDraft? = nil, passive: PassiveHealthDraft? = nil, retries: Int? = nil,
        timeouts: TimeoutsDraft? = nil, drainTimeoutMs: Int? = nil, minHealthyPercent: Int? = nil
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

    public func resolved(over base: PoolSpec = .defaults, fieldPrefix: String = "") throws(ValidationFailure) -> PoolSpec {
        var errors = FieldErrorCollector(prefix: fieldPrefix)
        let health = healthCheck?.resolved(over: base.healthCheck) ?? base.healthCheck
        let passive = passive?.resolved(over: base.passive) ?? base.passive
        let timeouts = timeouts?.resolved(over: base.timeouts) ?? base.timeouts
        let spec = PoolSpec(
            protocol: self.protocol ?? base.protocol,
            algorithm: algorithm ?? base.algorithm,
            mode: mode ?? base.mode,
            healthCheck: health,
            passive: passive,
            retries: retries ?? base.retries,
            timeouts: timeouts,
            drainTimeoutMs: drainTimeoutMs ?? base.drainTimeoutMs,
            minHealthyPercent: minHealthyPercent ?? base.minHealthyPercent
        )
        spec.check(into: &errors)
        try errors.throwIfAny()
        return spec
    }
}

extension PoolSpec {
    /// Adds every rule this pool breaks to `errors`.
    public func check(into errors: inout FieldErrorCollector) {
        errors.check("retries", retries, in: 0...10)
        errors.check("drain_timeout_ms", drainTimeoutMs, in: 0...86_400_000)
        errors.check("min_healthy_percent", minHealthyPercent, in: 0...100)
        errors.check("health_check.interval_ms", healthCheck.intervalMs, in: 100...3_600_000)
        // A timeout longer than the interval is allowed: a probe in flight delays the next one.
        errors.check("health_check.timeout_ms", healthCheck.timeoutMs, in: 10...3_600_000)
        errors.check("health_check.rise", healthCheck.rise, in: 1...100)
        errors.check("health_check.fall", healthCheck.fall, in: 1...100)
        if healthCheck.path.utf8.count > 1024 || !TextPattern.matches(healthCheck.path, TextPattern.path) {
            errors.add("health_check.path", "must start with '/' and hold only printable ASCII (percent-encode the rest), at most 1024 bytes")
        }
        if StatusCodeSet(healthCheck.expectedStatus) == nil {
            errors.add("health_check.expected_status", "must be codes 100-599 as \"200\", \"200-399\" or \"200,204\"")
        }
        errors.check("passive.max_failures", passive.maxFailures, in: 0...1000)
        errors.check("passive.eject_ms", passive.ejectMs, in: 100...3_600_000)
        errors.check("timeouts.connect_ms", timeouts.connectMs, in: 1...3_600_000)
        errors.check("timeouts.response_ms", timeouts.responseMs, in: 1...3_600_000)
        errors.check("timeouts.idle_ms", timeouts.idleMs, in: 1...86_400_000)
    }
}

public struct HealthCheckDraft: Equatable, Sendable {
    public var type: HealthCheckType?
    public var path: String?
    public var expectedStatus: String?
    public var intervalMs: Int?
    public var timeoutMs: Int?
    public var rise: Int?
    public var fall: Int?

    public init(
        type: HealthCheckType? = nil, path: String? = nil, expectedStatus: String? = nil, intervalMs: Int? = nil,
        timeoutMs: Int? = nil, rise: Int? = nil, fall: Int? = nil
    ) {
        self.type = type
        self.path = path
        self.expectedStatus = expectedStatus
        self.intervalMs = intervalMs
        self.timeoutMs = timeoutMs
        self.rise = rise
        self.fall = fall
    }

    public func resolved(over base: HealthCheckSpec) -> HealthCheckSpec {
        HealthCheckSpec(
            type: type ?? base.type, path: path ?? base.path, expectedStatus: expectedStatus ?? base.expectedStatus,
            intervalMs: intervalMs ?? base.intervalMs, timeoutMs: timeoutMs ?? base.timeoutMs, rise: rise ?? base.rise,
            fall: fall ?? base.fall)
    }
}

public struct PassiveHealthDraft: Equatable, Sendable {
    public var maxFailures: Int?
    public var ejectMs: Int?

    public init(maxFailures: Int? = nil, ejectMs: Int? = nil) {
        self.maxFailures = maxFailures
        self.ejectMs = ejectMs
    }

    public func resolved(over base: PassiveHealthSpec) -> PassiveHealthSpec {
        PassiveHealthSpec(maxFailures: maxFailures ?? base.maxFailures, ejectMs: ejectMs ?? base.ejectMs)
    }
}

public struct TimeoutsDraft: Equatable, Sendable {
    public var connectMs: Int?
    public var responseMs: Int?
    public var idleMs: Int?

    public init(connectMs: Int? = nil, responseMs: Int? = nil, idleMs: Int? = nil) {
        self.connectMs = connectMs
        self.responseMs = responseMs
        self.idleMs = idleMs
    }

    public func resolved(over base: TimeoutsSpec) -> TimeoutsSpec {
        TimeoutsSpec(
            connectMs: connectMs ?? base.connectMs, responseMs: responseMs ?? base.responseMs,
            idleMs: idleMs ?? base.idleMs)
    }
}
