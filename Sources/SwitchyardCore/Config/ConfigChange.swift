/// One resource created, changed or deleted by a write; the unit of the audit log and of config diffs.
public struct ConfigChange: Equatable, Sendable {
    public var action: ChangeAction
    public var resource: ResourceID
    public var before: ResourceState?
    public var after: ResourceState?

    public init(resource: ResourceID, before: ResourceState?, after: ResourceState?) {
        self.resource = resource
        self.before = before
        self.after = after
        switch (before, after) {
        case (nil, _): action = .create
        case (_, nil): action = .delete
        default: action = .update
        }
    }
}

public enum ChangeAction: String, Codable, Sendable, CaseIterable {
    case create, update, delete
}

public enum ResourceKind: String, Codable, Sendable, CaseIterable {
    case pool, backend, listener, token, certificate
}

/// Names a resource; a backend is named within its pool ("web/web-1").
public struct ResourceID: Hashable, Sendable, CustomStringConvertible {
    public var kind: ResourceKind
    public var name: String
    public var pool: String?

    public static func pool(_ name: String) -> ResourceID { ResourceID(kind: .pool, name: name, pool: nil) }
    public static func listener(_ name: String) -> ResourceID { ResourceID(kind: .listener, name: name, pool: nil) }
    public static func token(_ name: String) -> ResourceID { ResourceID(kind: .token, name: name, pool: nil) }
    public static func certificate(_ name: String) -> ResourceID { ResourceID(kind: .certificate, name: name, pool: nil) }
    public static func backend(_ name: String, in pool: String) -> ResourceID {
        ResourceID(kind: .backend, name: name, pool: pool)
    }

    /// The pool whose runtime state the resource is part of (a pool's own name, a backend's pool);
    /// nil for listeners, certificates and tokens.
    public var poolName: String? {
        switch kind {
        case .pool: name
        case .backend: pool
        case .listener, .token, .certificate: nil
        }
    }

    /// The audit log's `resource` text.
    public var description: String { pool.map { "\($0)/\(name)" } ?? name }

    /// Parses the audit log's `resource` text back.
    public init?(kind: ResourceKind, path: String) {
        if kind == .backend {
            let parts = path.split(separator: "/", maxSplits: 1)
            guard parts.count == 2 else { return nil }
            self.init(kind: kind, name: String(parts[1]), pool: String(parts[0]))
        } else {
            self.init(kind: kind, name: path, pool: nil)
        }
    }

    public init(kind: ResourceKind, name: String, pool: String?) {
        self.kind = kind
        self.name = name
        self.pool = pool
    }
}

/// A configuration resource's full state.
public enum ResourceState: Equatable, Sendable {
    case pool(PoolSpec)
    case backend(BackendSpec)
    case listener(ListenerSpec)
    case certificate(CertificateSpec)
}
