import Foundation
import OpenAPIRuntime
import SwitchyardAPI
import SwitchyardCore
import SwitchyardStore

// Conversions between the generated API types and the core's resources. Kept field by field (not via
// JSON) because lists of 10,000 backends go through them.

typealias Schemas = Components.Schemas

// MARK: Requests → drafts

/// The pool fields that the three request shapes (POST body, PUT/PATCH body, pool of a whole
/// configuration) share, so that one conversion serves them all.
protocol PoolFields {
    var _protocol: Schemas.PoolProtocol? { get }
    var algorithm: Schemas.Algorithm? { get }
    var mode: Schemas.PoolMode? { get }
    var healthCheck: Schemas.HealthCheck? { get }
    var passive: Schemas.PassiveHealth? { get }
    var retries: Int? { get }
    var timeouts: Schemas.Timeouts? { get }
    var drainTimeoutMs: Int? { get }
    var minHealthyPercent: Int? { get }
}

extension Schemas.PoolInput: PoolFields {}
extension Schemas.PoolSettings: PoolFields {}
extension Schemas.ConfigPoolInput: PoolFields {}

extension PoolDraft {
    init(_ input: some PoolFields) {
        self.init(
            protocol: input._protocol.map(PoolProtocol.init),
            algorithm: input.algorithm.map(BalancingAlgorithm.init),
            mode: input.mode.map(PoolMode.init),
            healthCheck: input.healthCheck.map(HealthCheckDraft.init),
            passive: input.passive.map(PassiveHealthDraft.init),
            retries: input.retries,
            timeouts: input.timeouts.map(TimeoutsDraft.init),
            drainTimeoutMs: input.drainTimeoutMs,
            minHealthyPercent: input.minHealthyPercent)
    }
}

extension HealthCheckDraft {
    init(_ input: Schemas.HealthCheck) {
        self.init(
            type: input._type.map(HealthCheckType.init), path: input.path,
            expectedStatus: input.expectedStatus, intervalMs: input.intervalMs, timeoutMs: input.timeoutMs,
            rise: input.rise, fall: input.fall)
    }
}

extension PassiveHealthDraft {
    init(_ input: Schemas.PassiveHealth) {
        self.init(maxFailures: input.maxFailures, ejectMs: input.ejectMs)
    }
}

extension TimeoutsDraft {
    init(_ input: Schemas.Timeouts) {
        self.init(connectMs: input.connectMs, responseMs: input.responseMs, idleMs: input.idleMs)
    }
}

extension BackendDraft {
    init(_ input: Schemas.BackendInput) {
        self.init(
            address: input.address, port: input.port, weight: input.weight, backup: input.backup,
            adminState: input.adminState.map(AdminState.init))
    }

    init(_ input: Schemas.BackendPatch) {
        self.init(
            address: input.address, port: input.port, weight: input.weight, backup: input.backup,
            adminState: input.adminState.map(AdminState.init))
    }
}

/// The listener fields that POST bodies and PUT bodies (which name no listener) share.
protocol ListenerFields {
    var bind: String? { get }
    var port: Int { get }
    var _protocol: Schemas.ListenerProtocol? { get }
    var defaultPool: String? { get }
    var routes: [Schemas.Route]? { get }
    var allow: [String]? { get }
    var deny: [String]? { get }
    var trustedProxies: [String]? { get }
    var maxConnections: Int? { get }
    var timeouts: Schemas.ListenerTimeouts? { get }
    var rateLimit: Schemas.RateLimit? { get }
    var redirectHttps: Bool? { get }
    var hstsMaxAgeS: Int? { get }
    var tls: Schemas.TLSInput? { get }
}

extension Schemas.ListenerInput: ListenerFields {}

extension Schemas.ListenerSettings: ListenerFields {}

extension ListenerSpec {
    /// The listener a request describes, with defaults filled in (checked later by `ListenerRules`).
    init(_ input: some ListenerFields) {
        self.init(
            bind: input.bind ?? "0.0.0.0",
            port: input.port,
            protocol: input._protocol.map(ListenerProtocol.init) ?? .http,
            defaultPool: input.defaultPool,
            routes: (input.routes ?? []).map { RouteSpec(host: $0.host, pathPrefix: $0.pathPrefix, pool: $0.pool) },
            tls: input.tls.map { TLSSpec(certificates: $0.certificates, sessionResumption: $0.sessionResumption ?? true) },
            allow: input.allow ?? [],
            deny: input.deny ?? [],
            trustedProxies: input.trustedProxies ?? [],
            maxConnections: input.maxConnections,
            timeouts: input.timeouts.map(ListenerTimeouts.init) ?? ListenerTimeouts(),
            rateLimit: input.rateLimit.map(RateLimitSpec.init),
            redirectHttps: input.redirectHttps ?? false,
            hstsMaxAgeS: input.hstsMaxAgeS)
    }
}

// MARK: Resources → responses

extension Schemas.ResolvedHealthCheck {
    init(_ spec: HealthCheckSpec) {
        self.init(
            _type: .init(spec.type), path: spec.path, expectedStatus: spec.expectedStatus,
            intervalMs: spec.intervalMs, timeoutMs: spec.timeoutMs, rise: spec.rise, fall: spec.fall)
    }
}

extension Schemas.Pool {
    init(_ record: PoolRecord) {
        let spec = record.spec
        self.init(
            name: record.name,
            _protocol: .init(spec.protocol),
            algorithm: .init(spec.algorithm),
            mode: .init(spec.mode),
            healthCheck: .init(spec.healthCheck),
            passive: .init(maxFailures: spec.passive.maxFailures, ejectMs: spec.passive.ejectMs),
            retries: spec.retries,
            timeouts: .init(connectMs: spec.timeouts.connectMs, responseMs: spec.timeouts.responseMs, idleMs: spec.timeouts.idleMs),
            drainTimeoutMs: spec.drainTimeoutMs,
            minHealthyPercent: spec.minHealthyPercent,
            backendCount: record.backendCount,
            version: record.version,
            createdAt: record.createdAt,
            updatedAt: record.updatedAt)
    }
}

extension Schemas.Backend {
    init(_ record: BackendRecord, observed view: ObservedState.BackendView) {
        let spec = record.spec
        let key = ObservedState.BackendView.key(pool: record.pool, backend: record.name)
        let health = view.health(key)
        self.init(
            name: record.name,
            pool: record.pool,
            address: spec.address,
            port: spec.port,
            weight: spec.weight,
            backup: spec.backup,
            adminState: .init(spec.adminState),
            // As the instance answering sees it; unknown until its data plane has an opinion.
            health: health.map { .init(status: .init($0.status), reason: $0.reason, since: $0.since) }
                ?? .init(status: .unknown),
            healthByInstance: view.byInstance(key).map { instance, id, report in
                .init(
                    instance: id, instanceName: instance.name,
                    status: .init(report.status), reason: report.reason, since: report.since)
            },
            activeConnections: view.activeConnections(key),
            version: record.version,
            createdAt: record.createdAt,
            updatedAt: record.updatedAt)
    }
}

extension Schemas.Listener {
    init(_ record: ListenerRecord) {
        let spec = record.spec
        self.init(
            name: record.name,
            bind: spec.bind,
            port: spec.port,
            _protocol: .init(spec.protocol),
            defaultPool: spec.defaultPool,
            routes: spec.routes.map { Schemas.Route(host: $0.host, pathPrefix: $0.pathPrefix, pool: $0.pool) },
            tls: spec.tls.map { Schemas.Tls(certificates: $0.certificates, sessionResumption: $0.sessionResumption) },
            allow: spec.allow,
            deny: spec.deny,
            trustedProxies: spec.trustedProxies,
            maxConnections: spec.maxConnections,
            timeouts: .init(spec.timeouts),
            rateLimit: spec.rateLimit.map(Schemas.RateLimit.init),
            redirectHttps: spec.redirectHttps,
            hstsMaxAgeS: spec.hstsMaxAgeS,
            version: record.version,
            createdAt: record.createdAt,
            updatedAt: record.updatedAt)
    }
}

extension Schemas.Certificate {
    init(_ record: CertificateRecord) {
        let details = record.spec.details
        self.init(
            name: record.name,
            certificatePem: record.spec.certificatePem,
            subject: details.subject,
            sanNames: details.sanNames,
            issuer: details.issuer,
            notBefore: Self.date(details.notBefore),
            notAfter: Self.date(details.notAfter),
            keyType: details.keyType,
            fingerprintSha256: details.fingerprintSha256,
            version: record.version,
            createdAt: record.createdAt,
            updatedAt: record.updatedAt)
    }

    /// The stored RFC 3339 text as a date (written by `CertificateInspector`, so it parses).
    static func date(_ text: String) -> Date {
        (try? Date(text, strategy: .iso8601)) ?? Date(timeIntervalSince1970: 0)
    }
}

extension Schemas.ConfigCertificate {
    init(name: String, spec: CertificateSpec) {
        let details = spec.details
        self.init(
            name: name, certificatePem: spec.certificatePem, subject: details.subject, sanNames: details.sanNames, issuer: details.issuer,
            notBefore: Schemas.Certificate.date(details.notBefore), notAfter: Schemas.Certificate.date(details.notAfter),
            keyType: details.keyType, fingerprintSha256: details.fingerprintSha256)
    }
}

extension Schemas.Config {
    init(_ document: ConfigDocument, generation: Int64) {
        let pools = document.pools.keys.sorted().map { name -> Schemas.ConfigPool in
            let entry = document.pools[name]!
            let spec = entry.spec
            return Schemas.ConfigPool(
                name: name,
                _protocol: .init(spec.protocol),
                algorithm: .init(spec.algorithm),
                mode: .init(spec.mode),
                healthCheck: .init(spec.healthCheck),
                passive: .init(maxFailures: spec.passive.maxFailures, ejectMs: spec.passive.ejectMs),
                retries: spec.retries,
                timeouts: .init(connectMs: spec.timeouts.connectMs, responseMs: spec.timeouts.responseMs, idleMs: spec.timeouts.idleMs),
                drainTimeoutMs: spec.drainTimeoutMs,
                minHealthyPercent: spec.minHealthyPercent,
                backends: entry.backends.keys.sorted().map { backendName in
                    let backend = entry.backends[backendName]!
                    return Schemas.ConfigBackend(
                        name: backendName, address: backend.address, port: backend.port, weight: backend.weight,
                        backup: backend.backup, adminState: .init(backend.adminState))
                })
        }
        let listeners = document.listeners.keys.sorted().map { name -> Schemas.ConfigListener in
            let spec = document.listeners[name]!
            return Schemas.ConfigListener(
                name: name, bind: spec.bind, port: spec.port, _protocol: .init(spec.protocol),
                defaultPool: spec.defaultPool,
                routes: spec.routes.map { Schemas.Route(host: $0.host, pathPrefix: $0.pathPrefix, pool: $0.pool) },
                tls: spec.tls.map { Schemas.Tls(certificates: $0.certificates, sessionResumption: $0.sessionResumption) }, allow: spec.allow, deny: spec.deny,
                trustedProxies: spec.trustedProxies, maxConnections: spec.maxConnections, timeouts: .init(spec.timeouts),
                rateLimit: spec.rateLimit.map(Schemas.RateLimit.init), redirectHttps: spec.redirectHttps,
                hstsMaxAgeS: spec.hstsMaxAgeS)
        }
        let certificates = document.certificates.keys.sorted().map { name in
            Schemas.ConfigCertificate(name: name, spec: document.certificates[name]!)
        }
        self.init(generation: generation, pools: pools, listeners: listeners, certificates: certificates)
    }
}

/// The JSON of a resource state for `before`/`after` fields (a certificate shows its chain and what was
/// read from it, its fingerprint among them, never its sealed key).
func jsonValue(_ state: ResourceState?) -> OpenAPIValueContainer? {
    guard let state else { return nil }
    if case .certificate(let spec) = state {
        let details = spec.details
        let fields: [String: any Sendable] = [
            "certificate_pem": spec.certificatePem, "subject": details.subject, "san_names": details.sanNames, "issuer": details.issuer,
            "not_before": details.notBefore, "not_after": details.notAfter, "key_type": details.keyType,
            "fingerprint_sha256": details.fingerprintSha256,
        ]
        return try? OpenAPIValueContainer(unvalidatedValue: fields)
    }
    if case .backend(let spec) = state {
        // Built directly: a whole-configuration diff has one per backend, and the encode-then-decode
        // below was most of the time of a 10,000-backend PUT. Same fields as the Codable encoding.
        let fields: [String: any Sendable] = [
            "address": spec.address, "port": spec.port, "weight": spec.weight, "backup": spec.backup,
            "admin_state": spec.adminState.rawValue,
        ]
        return try? OpenAPIValueContainer(unvalidatedValue: fields)
    }
    let encoder = JSONEncoder()
    encoder.keyEncodingStrategy = .convertToSnakeCase
    let data: Data
    switch state {
    case .pool(let spec): data = (try? encoder.encode(spec)) ?? Data("null".utf8)
    case .backend(let spec): data = (try? encoder.encode(spec)) ?? Data("null".utf8)
    case .listener(let spec): data = (try? encoder.encode(spec)) ?? Data("null".utf8)
    case .certificate: data = Data("null".utf8)
    }
    return try? JSONDecoder().decode(OpenAPIValueContainer.self, from: data)
}

func jsonValue(rawJSON text: String?) -> OpenAPIValueContainer? {
    guard let text else { return nil }
    return try? JSONDecoder().decode(OpenAPIValueContainer.self, from: Data(text.utf8))
}

extension Schemas.ConfigChange {
    init(_ change: SwitchyardCore.ConfigChange) {
        self.init(
            action: .init(change.action),
            resourceType: .init(change.resource.kind),
            resource: change.resource.description,
            before: jsonValue(change.before),
            after: jsonValue(change.after))
    }
}

extension ListenerTimeouts {
    init(_ input: Schemas.ListenerTimeouts) {
        self.init(
            clientHeadMs: input.clientHeadMs, clientBodyMs: input.clientBodyMs, clientBodyMinRate: input.clientBodyMinRate,
            clientSendMs: input.clientSendMs, clientIdleMs: input.clientIdleMs, tcpIdleMs: input.tcpIdleMs)
    }
}

extension Schemas.ListenerTimeouts {
    init(_ timeouts: ListenerTimeouts) {
        self.init(
            clientHeadMs: timeouts.clientHeadMs, clientBodyMs: timeouts.clientBodyMs, clientBodyMinRate: timeouts.clientBodyMinRate,
            clientSendMs: timeouts.clientSendMs, clientIdleMs: timeouts.clientIdleMs, tcpIdleMs: timeouts.tcpIdleMs)
    }
}

extension RateLimitSpec {
    init(_ input: Schemas.RateLimit) {
        self.init(
            connectionsPerSecond: input.connectionsPerSecond, connectionBurst: input.connectionBurst,
            requestsPerSecond: input.requestsPerSecond, requestBurst: input.requestBurst)
    }
}

extension Schemas.RateLimit {
    init(_ spec: RateLimitSpec) {
        self.init(
            connectionsPerSecond: spec.connectionsPerSecond, connectionBurst: spec.connectionBurst,
            requestsPerSecond: spec.requestsPerSecond, requestBurst: spec.requestBurst)
    }
}
