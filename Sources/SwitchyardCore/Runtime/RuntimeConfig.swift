/// The immutable snapshot the data plane serves from: the stored configuration of one generation,
/// checked again and indexed for the request path (parsed networks, resolved routes). Building it is
/// pure; swapping it in is the data plane's business.
public struct RuntimeConfig: Sendable {
    public let generation: Int64
    /// Listeners by name.
    public let listeners: [String: RuntimeListener]
    /// Pools by name.
    public let pools: [String: RuntimePool]
    /// Certificates by name, with their private keys opened.
    public let certificates: [String: RuntimeCertificate]
    /// Certificates whose private key could not be opened (no master key, another master key), with
    /// the reason: listeners that name them cannot serve them.
    public let unavailableCertificates: [String: String]

    public static let empty = RuntimeConfig(generation: 0, listeners: [:], pools: [:], certificates: [:], unavailableCertificates: [:])

    private init(
        generation: Int64, listeners: [String: RuntimeListener], pools: [String: RuntimePool], certificates: [String: RuntimeCertificate],
        unavailableCertificates: [String: String]
    ) {
        self.generation = generation
        self.listeners = listeners
        self.pools = pools
        self.certificates = certificates
        self.unavailableCertificates = unavailableCertificates
    }

    /// Builds the snapshot, refusing a document that breaks any rule (the store should never hold one,
    /// but the data plane never serves on trust). `openKey` opens certificates' private keys (nil: none
    /// can be opened).
    public init(document: ConfigDocument, generation: Int64, openKey: RuntimeCertificate.KeyOpener? = nil) throws(ValidationFailure) {
        try self.init(document: document, generation: generation, reusing: nil, openKey: openKey)
    }

    /// Builds the snapshot of `document`, which differs from the one `previous` was built from only in
    /// `changedPools` (and in listeners): every other pool is taken from `previous` as it is, already
    /// checked and with its backends sorted, so that a write to one pool costs no rebuild of a
    /// 10,000-backend pool beside it. Its storage is shared, which also makes comparing it with
    /// `previous`'s pool immediate for the data plane.
    public init(
        document: ConfigDocument, generation: Int64, reusing previous: RuntimeConfig, changedPools: Set<String>,
        openKey: RuntimeCertificate.KeyOpener? = nil
    ) throws(ValidationFailure) {
        try self.init(document: document, generation: generation, reusing: (previous, changedPools), openKey: openKey)
    }

    private init(
        document: ConfigDocument, generation: Int64, reusing reuse: (previous: RuntimeConfig, changedPools: Set<String>)?,
        openKey: RuntimeCertificate.KeyOpener?
    ) throws(ValidationFailure) {
        var errors = FieldErrorCollector()
        var pools: [String: RuntimePool] = [:]
        pools.reserveCapacity(document.pools.count)
        for (name, entry) in document.pools {
            if let reuse, !reuse.changedPools.contains(name), let unchanged = reuse.previous.pools[name] {
                pools[name] = unchanged
                continue
            }
            var poolErrors = FieldErrorCollector(prefix: "pools[\(name)].")
            entry.spec.check(into: &poolErrors)
            // A backend as it was in the previous snapshot's pool is taken over, checked already; the
            // two lists are walked side by side in name order.
            var previous = BackendCursor(reuse?.previous.pools[name]?.backends ?? [])
            var backends: [RuntimeBackend] = []
            backends.reserveCapacity(entry.backends.count)
            for backendName in entry.backends.keys.sorted() {
                let spec = entry.backends[backendName]!
                if let index = previous.index(of: backendName), previous.backends[index].spec == spec {
                    backends.append(previous.backends[index])
                    continue
                }
                var backendErrors = FieldErrorCollector(prefix: "pools[\(name)].backends[\(backendName)].")
                spec.check(into: &backendErrors)
                poolErrors.append(contentsOf: backendErrors.errors)
                backends.append(RuntimeBackend(pool: name, name: backendName, spec: spec))
            }
            errors.append(contentsOf: poolErrors.errors)
            pools[name] = RuntimePool(name: name, spec: entry.spec, backends: backends)
        }
        var listeners: [String: RuntimeListener] = [:]
        var byPort: [Int: [(name: String, spec: ListenerSpec)]] = [:]
        for name in document.listeners.keys.sorted() {
            let spec = document.listeners[name]!
            var listenerErrors = FieldErrorCollector(prefix: "listeners[\(name)].")
            ListenerRules.check(
                spec, named: name, poolProtocol: { pools[$0]?.spec.protocol },
                certificateExists: { document.certificates[$0] != nil }, otherListeners: byPort[spec.port] ?? [],
                into: &listenerErrors)
            errors.append(contentsOf: listenerErrors.errors)
            byPort[spec.port, default: []].append((name, spec))
            if listenerErrors.errors.isEmpty, let listener = RuntimeListener(name: name, spec: spec) {
                listeners[name] = listener
            }
        }
        try errors.throwIfAny()
        // A certificate unchanged since the previous snapshot keeps its opened key (no decryption per write).
        var certificates: [String: RuntimeCertificate] = [:]
        var unavailable: [String: String] = [:]
        for (name, spec) in document.certificates {
            if let previous = reuse?.previous.certificates[name], previous.spec == spec {
                certificates[name] = previous
                continue
            }
            guard let openKey else {
                unavailable[name] = "no master key to open its private key"
                continue
            }
            do {
                certificates[name] = RuntimeCertificate(name: name, spec: spec, privateKeyPem: try openKey(name, spec))
            } catch {
                unavailable[name] = "\(error)"
            }
        }
        self.init(generation: generation, listeners: listeners, pools: pools, certificates: certificates, unavailableCertificates: unavailable)
    }
}

public struct RuntimePool: Equatable, Sendable {
    public let name: String
    public let spec: PoolSpec
    /// Backends ordered by name; their index is their identity within this snapshot.
    public let backends: [RuntimeBackend]
}

public struct RuntimeBackend: Equatable, Sendable {
    public let pool: String
    public let name: String
    public let spec: BackendSpec
    /// "pool/backend": the stable identity hash balancing uses (built once: the data plane asks often).
    public let key: String

    public init(pool: String, name: String, spec: BackendSpec) {
        self.pool = pool
        self.name = name
        self.spec = spec
        key = "\(pool)/\(name)"
    }
}
