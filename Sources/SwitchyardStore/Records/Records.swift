import Foundation
import SwitchyardCore

/// A stored pool with its bookkeeping.
public struct PoolRecord: Sendable {
    public var name: String
    public var spec: PoolSpec
    public var backendCount: Int
    public var version: Int64
    public var createdAt: Date
    public var updatedAt: Date
}

/// A stored backend with its bookkeeping.
public struct BackendRecord: Sendable {
    public var pool: String
    public var name: String
    public var spec: BackendSpec
    public var version: Int64
    public var createdAt: Date
    public var updatedAt: Date

    public init(pool: String, name: String, spec: BackendSpec, version: Int64, createdAt: Date, updatedAt: Date) {
        self.pool = pool
        self.name = name
        self.spec = spec
        self.version = version
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// The whole stored configuration as of one generation.
public struct StoredConfiguration: Sendable {
    public var document: ConfigDocument
    public var generation: Int64
    /// The generation of the last token change: verified tokens are remembered until it moves.
    public var tokenGeneration: Int64
    /// Set when this configuration was followed from the one of generation `since` by audit rows:
    /// the pools those changed (listeners may have changed too). Nil after a whole read.
    public var changedPools: (since: Int64, pools: Set<String>)?

    public init(
        document: ConfigDocument, generation: Int64, tokenGeneration: Int64, changedPools: (since: Int64, pools: Set<String>)? = nil
    ) {
        self.document = document
        self.generation = generation
        self.tokenGeneration = tokenGeneration
        self.changedPools = changedPools
    }
}

/// A stored listener with its bookkeeping.
public struct ListenerRecord: Sendable {
    public var name: String
    public var spec: ListenerSpec
    public var version: Int64
    public var createdAt: Date
    public var updatedAt: Date
}

/// A stored certificate with its bookkeeping.
public struct CertificateRecord: Sendable {
    public var name: String
    public var spec: CertificateSpec
    public var version: Int64
    public var createdAt: Date
    public var updatedAt: Date
}

/// One row of the audit log.
public struct ChangeRecord: Sendable {
    public var id: Int64
    public var generation: Int64
    public var time: Date
    public var actor: String
    public var request: String
    public var action: ChangeAction
    public var kind: ResourceKind
    public var resource: String
    public var before: String?
    public var after: String?
}

public struct TokenRecord: Sendable {
    /// Tells apart tokens that held the same name at different times (idempotency keys belong to it).
    public var id: UUID
    public var name: String
    public var scopes: [Scope]
    public var createdAt: Date
    public var createdBy: String
}

public struct InstanceRecord: Sendable {
    public var id: UUID
    public var name: String
    public var host: String
    public var version: String
    public var startedAt: Date
    public var heartbeatAt: Date
    public var appliedGeneration: Int64
    public var stopped: Bool
    /// Listener socket states by listener name, as of the last heartbeat.
    public var listeners: [String: ListenerBindState]
    /// Backend health by "pool/backend", as of the last heartbeat.
    public var backendHealth: [String: BackendHealthReport]
}

/// Who is writing and through which call; recorded in every audit row.
public struct WriteContext: Sendable {
    public var actor: String
    public var request: String

    public init(actor: String, request: String) {
        self.actor = actor
        self.request = request
    }
}

/// A response remembered under an `Idempotency-Key`.
public struct IdempotentResponse: Sendable {
    public var requestHash: String
    public var status: Int
    /// The response as JSON (body plus the headers a replay must repeat).
    public var response: String

    public init(requestHash: String, status: Int, response: String) {
        self.requestHash = requestHash
        self.status = status
        self.response = response
    }
}
