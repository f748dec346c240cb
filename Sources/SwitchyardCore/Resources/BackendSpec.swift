/// A backend registered in a pool.
public struct BackendSpec: Codable, Equatable, Sendable {
    public var address: String
    public var port: Int
    public var weight: Int
    public var backup: Bool
    public var adminState: AdminState

    public init(address: String, port: Int, weight: Int = 1, backup: Bool = false, adminState: AdminState = .enabled) {
        self.address = address
        self.port = port
        self.weight = weight
        self.backup = backup
        self.adminState = adminState
    }

    /// Adds every rule this backend breaks to `errors`.
    public func check(into errors: inout FieldErrorCollector) {
        if address.utf8.count > 253 || !TextPattern.matches(address, TextPattern.address) {
            errors.add("address", "must be an IPv4 or IPv6 address or a DNS host name")
        }
        errors.check("port", port, in: 1...65535)
        errors.check("weight", weight, in: 0...1000)
    }

    /// Whether the backend may take new requests by the operator's choice (health aside).
    public var takesNewRequests: Bool { adminState == .enabled && weight > 0 }
}

public enum AdminState: String, Codable, Sendable, CaseIterable {
    case enabled
    /// No new requests; in-flight ones finish within the pool's drain timeout.
    case draining
    /// Out of rotation for maintenance; like draining, but not expected back soon.
    case maintenance
}

/// A backend as a request states it (POST and PUT resolve over defaults, PATCH over the stored one).
public struct BackendDraft: Equatable, Sendable {
    public var address: String?
    public var port: Int?
    public var weight: Int?
    public var backup: Bool?
    public var adminState: AdminState?

    public init(
        address: String? = nil, port: Int? = nil, weight: Int? = nil, backup: Bool? = nil, adminState: AdminState? = nil
    ) {
        self.address = address
        self.port = port
        self.weight = weight
        self.backup = backup
        self.adminState = adminState
    }

    public func resolved(over base: BackendSpec?, fieldPrefix: String = "") throws(ValidationFailure) -> BackendSpec {
        var errors = FieldErrorCollector(prefix: fieldPrefix)
        let address = self.address ?? base?.address
        let port = self.port ?? base?.port
        if address == nil { errors.add("address", "is required") }
        if port == nil { errors.add("port", "is required") }
        let spec = BackendSpec(
            address: address ?? "", port: port ?? 0, weight: weight ?? base?.weight ?? 1,
            backup: backup ?? base?.backup ?? false, adminState: adminState ?? base?.adminState ?? .enabled)
        if address != nil, port != nil { spec.check(into: &errors) }
        try errors.throwIfAny()
        return spec
    }
}
