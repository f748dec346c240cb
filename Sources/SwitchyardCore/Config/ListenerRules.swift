/// Rules of a listener that depend on the rest of the configuration: the pools it names exist and speak
/// its protocol, the certificates it names exist, and no other listener holds its socket.
public enum ListenerRules {
    public static func check(
        _ listener: ListenerSpec,
        named name: String,
        poolProtocol: (String) -> PoolProtocol?,
        certificateExists: (String) -> Bool,
        otherListeners: [(name: String, spec: ListenerSpec)],
        into errors: inout FieldErrorCollector
    ) {
        listener.check(into: &errors)
        checkCertificates(listener, exists: certificateExists, into: &errors)
        checkReferences(listener, named: name, poolProtocol: poolProtocol, otherListeners: otherListeners, into: &errors)
    }

    /// The certificates an https listener names exist (`tls.certificates`).
    public static func checkCertificates(_ listener: ListenerSpec, exists: (String) -> Bool, into errors: inout FieldErrorCollector) {
        guard let tls = listener.tls else { return }
        let missing = tls.certificates.filter { ResourceName.isValid($0) && !exists($0) }
        if !missing.isEmpty {
            errors.add("tls.certificates", "no certificate named " + missing.map { "'\($0)'" }.joined(separator: ", "))
        }
    }

    /// Only the rules against the rest of the configuration (pools and other listeners).
    public static func checkReferences(
        _ listener: ListenerSpec,
        named name: String,
        poolProtocol: (String) -> PoolProtocol?,
        otherListeners: [(name: String, spec: ListenerSpec)],
        into errors: inout FieldErrorCollector
    ) {
        var fields: [(field: String, pool: String)] = []
        if let pool = listener.defaultPool { fields.append(("default_pool", pool)) }
        for (index, route) in listener.routes.enumerated() { fields.append(("routes[\(index)].pool", route.pool)) }
        for (field, pool) in fields where ResourceName.isValid(pool) {
            guard let found = poolProtocol(pool) else {
                errors.add(field, "no pool named '\(pool)'")
                continue
            }
            if found != listener.poolProtocol {
                errors.add(
                    field,
                    "pool '\(pool)' is \(found.rawValue); a \(listener.protocol.rawValue) listener needs a \(listener.poolProtocol.rawValue) pool")
            }
        }
        for other in otherListeners where other.name != name && listener.sharesSocket(with: other.spec) {
            errors.add("port", "listener '\(other.name)' already uses \(other.spec.bind):\(other.spec.port)")
        }
    }
}
