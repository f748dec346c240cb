import Foundation

/// What one instance believes about one backend's health.
public enum HealthStatus: String, Codable, Sendable, CaseIterable {
    case unknown, healthy, unhealthy
}

/// A change of a backend's observed health, with why and when (for the API, logs and /metrics).
public struct HealthTransition: Equatable, Sendable {
    public var from: HealthStatus
    public var to: HealthStatus
    public var reason: String
    public var at: Date
}

/// The health state machine of one backend: active probes move it by `rise` consecutive successes and
/// `fall` consecutive failures; passive observations eject it for `ejectMs` after `maxFailures`
/// consecutive failed requests (connect failures or 5xx). A new backend is `unknown` and takes traffic,
/// as in HAProxy and Envoy, until probes say otherwise. Probes that bring an unhealthy backend back
/// also end its passive ejection.
public struct BackendHealthTracker: Sendable {
    public let rise: Int
    public let fall: Int
    public let maxFailures: Int
    public let ejectDuration: Duration

    public private(set) var status: HealthStatus = .unknown
    public private(set) var reason = "no probe yet"
    public private(set) var since: Date
    public private(set) var ejectedUntil: Date?

    private var successes = 0
    private var failures = 0
    private var passiveFailures = 0

    public init(healthCheck: HealthCheckSpec, passive: PassiveHealthSpec, now: Date) {
        rise = healthCheck.rise
        fall = healthCheck.fall
        maxFailures = passive.maxFailures
        ejectDuration = .milliseconds(passive.ejectMs)
        since = now
        if healthCheck.type == .none { reason = "no active health check" }
    }

    /// Whether request failures are being counted or an ejection is on: only then does a successful
    /// request change anything (callers skip reporting successes otherwise).
    public var hasPassiveFailures: Bool { passiveFailures > 0 || ejectedUntil != nil }

    /// Whether new requests may go to the backend at `now`.
    public func isAvailable(at now: Date) -> Bool {
        if let ejectedUntil, now < ejectedUntil { return false }
        return status != .unhealthy
    }

    /// The status the API shows: an ejected backend is unhealthy while the ejection lasts.
    public func reportedStatus(at now: Date) -> HealthStatus {
        if let ejectedUntil, now < ejectedUntil { return .unhealthy }
        return status
    }

    public mutating func probeSucceeded(at now: Date) -> HealthTransition? {
        failures = 0
        successes += 1
        guard status != .healthy, successes >= (status == .unknown ? 1 : rise) else { return nil }
        // A backend that probes bring back after being down starts clean: its passive ejection ends too.
        if status == .unhealthy {
            ejectedUntil = nil
            passiveFailures = 0
        }
        return move(to: .healthy, reason: "\(successes) consecutive probe(s) passed", at: now)
    }

    public mutating func probeFailed(_ why: String, at now: Date) -> HealthTransition? {
        successes = 0
        failures += 1
        guard status != .unhealthy, failures >= fall else { return nil }
        return move(to: .unhealthy, reason: "\(failures) consecutive probe(s) failed: \(why)", at: now)
    }

    /// A request reached the backend and got a non-5xx answer.
    public mutating func requestSucceeded(at now: Date) -> HealthTransition? {
        passiveFailures = 0
        guard let ejectedUntil, now >= ejectedUntil else { return nil }
        self.ejectedUntil = nil
        return HealthTransition(from: .unhealthy, to: status, reason: "ejection over, requests succeed again", at: now)
    }

    /// A request could not connect or got a 5xx.
    public mutating func requestFailed(_ why: String, at now: Date) -> HealthTransition? {
        guard maxFailures > 0 else { return nil }
        passiveFailures += 1
        guard passiveFailures >= maxFailures, ejectedUntil.map({ now >= $0 }) ?? true else { return nil }
        passiveFailures = 0
        ejectedUntil = now.addingTimeInterval(Double(ejectDuration.components.seconds) + Double(ejectDuration.components.attoseconds) / 1e18)
        return HealthTransition(
            from: status, to: .unhealthy, reason: "ejected after \(maxFailures) consecutive failed request(s): \(why)", at: now)
    }

    private mutating func move(to next: HealthStatus, reason: String, at now: Date) -> HealthTransition {
        let transition = HealthTransition(from: status, to: next, reason: reason, at: now)
        status = next
        self.reason = reason
        since = now
        return transition
    }
}
