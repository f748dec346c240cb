/// Builds a `ConfigDocument` from a whole-configuration request (PUT /v1/config), checking every
/// resource and every reference between them, and naming each bad field by its place in the request.
public struct ConfigDocumentBuilder: Sendable {
    public struct PoolItem: Sendable {
        public var name: String
        public var draft: PoolDraft
        public var backends: [BackendItem]

        public init(name: String, draft: PoolDraft, backends: [BackendItem]) {
            self.name = name
            self.draft = draft
            self.backends = backends
        }
    }

    public struct BackendItem: Sendable {
        public var name: String
        public var draft: BackendDraft

        public init(name: String, draft: BackendDraft) {
            self.name = name
            self.draft = draft
        }
    }

    public init() {}

    /// `certificates` come checked and sealed (reading PEM and sealing keys are the control plane's):
    /// only their names are checked here.
    public func build(
        pools: [PoolItem], listeners: [(name: String, spec: ListenerSpec)], certificates: [(name: String, spec: CertificateSpec)] = []
    ) throws(ValidationFailure) -> ConfigDocument {
        var errors = FieldErrorCollector()
        var document = ConfigDocument()
        if pools.count > 10_000 { errors.add("pools", "at most 10000 pools") }
        if listeners.count > 1000 { errors.add("listeners", "at most 1000 listeners") }
        if certificates.count > 1000 { errors.add("certificates", "at most 1000 certificates") }

        for (index, certificate) in certificates.enumerated() {
            let field = "certificates[\(index)].name"
            if !ResourceName.isValid(certificate.name) { errors.add(field, ResourceName.rule) }
            if document.certificates[certificate.name] != nil {
                errors.add(field, "certificate '\(certificate.name)' appears twice")
            } else {
                document.certificates[certificate.name] = certificate.spec
            }
        }

        for (index, item) in pools.enumerated() {
            let prefix = "pools[\(index)]."
            if !ResourceName.isValid(item.name) { errors.add(prefix + "name", ResourceName.rule) }
            if document.pools[item.name] != nil { errors.add(prefix + "name", "pool '\(item.name)' appears twice") }
            if item.backends.count > 100_000 { errors.add(prefix + "backends", "at most 100000 backends") }
            var entry = PoolEntry(spec: .defaults)
            do {
                entry.spec = try item.draft.resolved(fieldPrefix: prefix)
            } catch {
                errors.append(contentsOf: error.errors)
            }
            for (backendIndex, backend) in item.backends.enumerated() {
                let backendPrefix = "\(prefix)backends[\(backendIndex)]."
                if !ResourceName.isValid(backend.name) { errors.add(backendPrefix + "name", ResourceName.rule) }
                if entry.backends[backend.name] != nil {
                    errors.add(backendPrefix + "name", "backend '\(backend.name)' appears twice in pool '\(item.name)'")
                }
                do {
                    entry.backends[backend.name] = try backend.draft.resolved(over: nil, fieldPrefix: backendPrefix)
                } catch {
                    errors.append(contentsOf: error.errors)
                }
            }
            if document.pools[item.name] == nil { document.pools[item.name] = entry }
        }

        // Only listeners on the same port can share a socket: index them by port to stay linear.
        var checkedByPort: [Int: [(name: String, spec: ListenerSpec)]] = [:]
        for (index, listener) in listeners.enumerated() {
            var listenerErrors = FieldErrorCollector(prefix: "listeners[\(index)].")
            if !ResourceName.isValid(listener.name) { listenerErrors.add("name", ResourceName.rule) }
            if document.listeners[listener.name] != nil {
                listenerErrors.add("name", "listener '\(listener.name)' appears twice")
            }
            ListenerRules.check(
                listener.spec, named: listener.name, poolProtocol: { document.pools[$0]?.spec.protocol },
                certificateExists: { document.certificates[$0] != nil }, otherListeners: checkedByPort[listener.spec.port] ?? [], into: &listenerErrors)
            errors.append(contentsOf: listenerErrors.errors)
            checkedByPort[listener.spec.port, default: []].append(listener)
            if document.listeners[listener.name] == nil { document.listeners[listener.name] = listener.spec }
        }

        try errors.throwIfAny()
        return document
    }
}
