/// The whole declarative configuration: every pool with its backends, every listener, and every
/// certificate.
public struct ConfigDocument: Equatable, Sendable {
    public var pools: [String: PoolEntry]
    public var listeners: [String: ListenerSpec]
    public var certificates: [String: CertificateSpec]

    public init(pools: [String: PoolEntry] = [:], listeners: [String: ListenerSpec] = [:], certificates: [String: CertificateSpec] = [:]) {
        self.pools = pools
        self.listeners = listeners
        self.certificates = certificates
    }

    public static let empty = ConfigDocument()

    /// The resource's current state, or nil when it does not exist.
    public func state(of resource: ResourceID) -> ResourceState? {
        switch resource.kind {
        case .pool: pools[resource.name].map { .pool($0.spec) }
        case .backend: resource.pool.flatMap { pools[$0]?.backends[resource.name] }.map { .backend($0) }
        case .listener: listeners[resource.name].map { .listener($0) }
        case .certificate: certificates[resource.name].map { .certificate($0) }
        case .token: nil
        }
    }

    /// Sets a resource to `state`, or removes it when `state` is nil.
    public mutating func set(_ resource: ResourceID, to state: ResourceState?) {
        switch (resource.kind, state) {
        case (.pool, .pool(let spec)?):
            pools[resource.name, default: PoolEntry(spec: spec)].spec = spec
        case (.pool, nil):
            pools[resource.name] = nil
        case (.backend, .backend(let spec)?):
            guard let pool = resource.pool else { return }
            pools[pool, default: PoolEntry(spec: .defaults)].backends[resource.name] = spec
        case (.backend, nil):
            guard let pool = resource.pool else { return }
            pools[pool]?.backends[resource.name] = nil
        case (.listener, .listener(let spec)?):
            listeners[resource.name] = spec
        case (.listener, nil):
            listeners[resource.name] = nil
        case (.certificate, .certificate(let spec)?):
            certificates[resource.name] = spec
        case (.certificate, nil):
            certificates[resource.name] = nil
        default:
            break
        }
    }

    /// Applies `changes` in order (each sets its resource to `after`).
    public func applying(_ changes: [ConfigChange]) -> ConfigDocument {
        var result = self
        result.apply(changes)
        return result
    }

    /// Applies `changes` in place: a document held nowhere else changes only the entries they touch
    /// (`applying` copies a 10,000-backend pool's dictionary to change one of its backends).
    public mutating func apply(_ changes: [ConfigChange]) {
        for change in changes { set(change.resource, to: change.after) }
    }

    /// The configuration as it was before `changes` were made; `changes` are given newest first.
    public func reverting(_ changes: [ConfigChange]) -> ConfigDocument {
        var result = self
        for change in changes { result.set(change.resource, to: change.before) }
        return result
    }
}

public struct PoolEntry: Equatable, Sendable {
    public var spec: PoolSpec
    public var backends: [String: BackendSpec]

    public init(spec: PoolSpec, backends: [String: BackendSpec] = [:]) {
        self.spec = spec
        self.backends = backends
    }
}
