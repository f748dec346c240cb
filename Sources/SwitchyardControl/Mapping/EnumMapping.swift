import SwitchyardAPI
import SwitchyardCore

// Conversions between the enums generated from openapi.yaml and the core's enums, both ways. Each is an
// exhaustive `switch` without `default`: a case added on one side and not the other fails the build,
// where converting through `rawValue` would crash the server at run time. `EnumMappingTests` round-trips
// every case, so a case mapped to the wrong partner fails a test.

// MARK: Pools

extension PoolProtocol {
    init(_ value: Schemas.PoolProtocol) {
        switch value {
        case .http: self = .http
        case .tcp: self = .tcp
        }
    }
}

extension Schemas.PoolProtocol {
    init(_ value: PoolProtocol) {
        switch value {
        case .http: self = .http
        case .tcp: self = .tcp
        }
    }
}

extension BalancingAlgorithm {
    init(_ value: Schemas.Algorithm) {
        switch value {
        case .roundRobin: self = .roundRobin
        case .leastConnections: self = .leastConnections
        case .randomTwoChoices: self = .randomTwoChoices
        case .sourceHash: self = .sourceHash
        case .consistentHash: self = .consistentHash
        }
    }
}

extension Schemas.Algorithm {
    init(_ value: BalancingAlgorithm) {
        switch value {
        case .roundRobin: self = .roundRobin
        case .leastConnections: self = .leastConnections
        case .randomTwoChoices: self = .randomTwoChoices
        case .sourceHash: self = .sourceHash
        case .consistentHash: self = .consistentHash
        }
    }
}

extension PoolMode {
    init(_ value: Schemas.PoolMode) {
        switch value {
        case .activeActive: self = .activeActive
        case .activePassive: self = .activePassive
        }
    }
}

extension Schemas.PoolMode {
    init(_ value: PoolMode) {
        switch value {
        case .activeActive: self = .activeActive
        case .activePassive: self = .activePassive
        }
    }
}

extension HealthCheckType {
    init(_ value: Schemas.HealthCheckType) {
        switch value {
        case .http: self = .http
        case .tcp: self = .tcp
        case .none: self = .none
        }
    }
}

extension Schemas.HealthCheckType {
    init(_ value: HealthCheckType) {
        switch value {
        case .http: self = .http
        case .tcp: self = .tcp
        case .none: self = .none
        }
    }
}

// MARK: Backends

extension AdminState {
    init(_ value: Schemas.AdminState) {
        switch value {
        case .enabled: self = .enabled
        case .draining: self = .draining
        case .maintenance: self = .maintenance
        }
    }
}

extension Schemas.AdminState {
    init(_ value: AdminState) {
        switch value {
        case .enabled: self = .enabled
        case .draining: self = .draining
        case .maintenance: self = .maintenance
        }
    }
}

/// A backend's health appears in two generated shapes (as the answering instance sees it, and per instance).
extension HealthStatus {
    init(_ value: Schemas.BackendHealth.StatusPayload) {
        switch value {
        case .unknown: self = .unknown
        case .healthy: self = .healthy
        case .unhealthy: self = .unhealthy
        }
    }

    init(_ value: Schemas.InstanceBackendHealth.StatusPayload) {
        switch value {
        case .unknown: self = .unknown
        case .healthy: self = .healthy
        case .unhealthy: self = .unhealthy
        }
    }
}

extension Schemas.BackendHealth.StatusPayload {
    init(_ value: HealthStatus) {
        switch value {
        case .unknown: self = .unknown
        case .healthy: self = .healthy
        case .unhealthy: self = .unhealthy
        }
    }
}

extension Schemas.InstanceBackendHealth.StatusPayload {
    init(_ value: HealthStatus) {
        switch value {
        case .unknown: self = .unknown
        case .healthy: self = .healthy
        case .unhealthy: self = .unhealthy
        }
    }
}

// MARK: Listeners

extension ListenerProtocol {
    init(_ value: Schemas.ListenerProtocol) {
        switch value {
        case .http: self = .http
        case .https: self = .https
        case .tcp: self = .tcp
        }
    }
}

extension Schemas.ListenerProtocol {
    init(_ value: ListenerProtocol) {
        switch value {
        case .http: self = .http
        case .https: self = .https
        case .tcp: self = .tcp
        }
    }
}

// MARK: Changes

extension ChangeAction {
    init(_ value: Schemas.ChangeAction) {
        switch value {
        case .create: self = .create
        case .update: self = .update
        case .delete: self = .delete
        }
    }
}

extension Schemas.ChangeAction {
    init(_ value: ChangeAction) {
        switch value {
        case .create: self = .create
        case .update: self = .update
        case .delete: self = .delete
        }
    }
}

extension ResourceKind {
    init(_ value: Schemas.ResourceType) {
        switch value {
        case .pool: self = .pool
        case .backend: self = .backend
        case .listener: self = .listener
        case .token: self = .token
        case .certificate: self = .certificate
        }
    }
}

extension Schemas.ResourceType {
    init(_ value: ResourceKind) {
        switch value {
        case .pool: self = .pool
        case .backend: self = .backend
        case .listener: self = .listener
        case .token: self = .token
        case .certificate: self = .certificate
        }
    }
}

// MARK: Tokens

extension Scope {
    init(_ value: Schemas.Scope) {
        switch value {
        case .read: self = .read
        case .write: self = .write
        case .admin: self = .admin
        }
    }
}

extension Schemas.Scope {
    init(_ value: Scope) {
        switch value {
        case .read: self = .read
        case .write: self = .write
        case .admin: self = .admin
        }
    }
}
