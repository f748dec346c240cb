/// Active health probes of a pool's backends.
public struct HealthCheckSpec: Codable, Equatable, Sendable {
    public var type: HealthCheckType
    public var path: String
    public var expectedStatus: String
    public var intervalMs: Int
    public var timeoutMs: Int
    public var rise: Int
    public var fall: Int

    public static let defaults = HealthCheckSpec(
        type: .tcp, path: "/", expectedStatus: "200-399", intervalMs: 2000, timeoutMs: 1000, rise: 2, fall: 3)

    public init(
        type: HealthCheckType, path: String, expectedStatus: String, intervalMs: Int, timeoutMs: Int, rise: Int, fall: Int
    ) {
        self.type = type
        self.path = path
        self.expectedStatus = expectedStatus
        self.intervalMs = intervalMs
        self.timeoutMs = timeoutMs
        self.rise = rise
        self.fall = fall
    }
}

public enum HealthCheckType: String, Codable, Sendable, CaseIterable {
    case http, tcp, none
}

/// Passive checks: eject a backend after consecutive connect failures or 5xx.
public struct PassiveHealthSpec: Codable, Equatable, Sendable {
    public var maxFailures: Int
    public var ejectMs: Int

    public static let defaults = PassiveHealthSpec(maxFailures: 3, ejectMs: 30_000)

    public init(maxFailures: Int, ejectMs: Int) {
        self.maxFailures = maxFailures
        self.ejectMs = ejectMs
    }
}

public struct TimeoutsSpec: Codable, Equatable, Sendable {
    public var connectMs: Int
    public var responseMs: Int
    public var idleMs: Int

    public static let defaults = TimeoutsSpec(connectMs: 3000, responseMs: 30_000, idleMs: 60_000)

    public init(connectMs: Int, responseMs: Int, idleMs: Int) {
        self.connectMs = connectMs
        self.responseMs = responseMs
        self.idleMs = idleMs
    }
}
