import Foundation
import SwitchyardAPI
import SwitchyardCore
import SwitchyardStore

extension APIHandler {
    func listListeners(_ input: Operations.ListListeners.Input) async throws -> Operations.ListListeners.Output {
        let limit = try Self.pageLimit(input.query.limit)
        let cursor = try Self.decodeCursor(input.query.cursor)
        let rows = try await store.read { try await $0.listeners(after: cursor, limit: limit + 1) }
        let page = Self.page(rows, limit: limit, key: \.name)
        return .ok(.init(body: .json(.init(items: page.items.map(Schemas.Listener.init), nextCursor: page.next))))
    }

    func getListener(_ input: Operations.GetListener.Input) async throws -> Operations.GetListener.Output {
        let name = input.path.listener
        guard let record = try await store.read({ try await $0.listener(name) }) else { throw APIError.notFound("no listener named '\(name)'") }
        return .ok(.init(headers: .init(eTag: Self.etag(record.version)), body: .json(.init(record))))
    }

    func createListener(_ input: Operations.CreateListener.Input) async throws -> Operations.CreateListener.Output {
        guard case .json(let body) = input.body else { throw APIError.unsupportedMediaType("expected application/json") }
        let name = body.name
        let spec = ListenerSpec(body)
        try Self.checkListenerAlone(name: name, spec: spec)
        let outcome = try await idempotentWrite(
            key: input.headers.idempotencyKey, request: body, exists: { try await self.store.read { try await $0.listener(name) } != nil }
        ) { locks in
            let transaction = try await Self.lockForListener(spec, locks)
            if try await transaction.read.listener(name) != nil { throw APIError.conflict("a listener named '\(name)' already exists") }
            try await Self.checkListenerInContext(name: name, spec: spec, transaction: transaction)
            try await transaction.apply(ConfigChange(resource: .listener(name), before: nil, after: .listener(spec)))
            let record = try await transaction.read.listener(name)!
            return (Schemas.Listener(record), Self.etag(record.version), "/v1/listeners/\(name)")
        }
        return .created(
            .init(
                headers: .init(eTag: outcome.etag ?? "", switchyardGeneration: outcome.generation, location: outcome.location ?? ""),
                body: .json(outcome.body)))
    }

    func replaceListener(_ input: Operations.ReplaceListener.Input) async throws -> Operations.ReplaceListener.Output {
        guard case .json(let body) = input.body else { throw APIError.unsupportedMediaType("expected application/json") }
        let name = input.path.listener
        let requested = ListenerSpec(body)
        let context = try caller
        let (record, generation) = try await store.write(context.writeContext) { locks in
            let transaction = try await Self.lockForListener(requested, locks)
            guard let current = try await transaction.read.listener(name) else { throw APIError.notFound("no listener named '\(name)'") }
            let spec = requested
            try Self.checkListenerAlone(name: name, spec: spec)
            try Self.checkIfMatch(input.headers.ifMatch, version: current.version)
            try await Self.checkListenerInContext(name: name, spec: spec, transaction: transaction)
            try await transaction.apply(ConfigChange(resource: .listener(name), before: .listener(current.spec), after: .listener(spec)))
            return try await transaction.read.listener(name)!
        }
        return .ok(.init(headers: .init(eTag: Self.etag(record.version), switchyardGeneration: generation), body: .json(.init(record))))
    }

    func deleteListener(_ input: Operations.DeleteListener.Input) async throws -> Operations.DeleteListener.Output {
        let name = input.path.listener
        let context = try caller
        let (_, generation) = try await store.write(context.writeContext) { locks in
            let transaction = locks.done()
            _ = try await transaction.generation()
            guard let current = try await transaction.read.listener(name) else { throw APIError.notFound("no listener named '\(name)'") }
            try Self.checkIfMatch(input.headers.ifMatch, version: current.version)
            try await transaction.apply(ConfigChange(resource: .listener(name), before: .listener(current.spec), after: nil))
        }
        return .noContent(.init(headers: .init(switchyardGeneration: generation)))
    }

    /// Keeps the pools `spec` refers to from being deleted, then takes the generation so that the checks
    /// against other listeners see the latest state.
    private static func lockForListener(_ spec: ListenerSpec, _ locks: consuming PoolLocks) async throws -> WriteTransaction {
        try await locks.sharePools(spec.referencedPools)
        let transaction = locks.done()
        _ = try await transaction.generation()
        return transaction
    }

    /// The rules that need only the request: 400 with every bad field.
    private static func checkListenerAlone(name: String, spec: ListenerSpec) throws {
        var errors = FieldErrorCollector()
        if !ResourceName.isValid(name) { errors.add("name", ResourceName.rule) }
        spec.check(into: &errors)
        if !errors.errors.isEmpty { throw APIError.validation(errors.errors) }
    }

    /// The rules against the stored configuration: the certificates named exist (else 400, as for any
    /// bad field of the request), the pools exist and match and the socket is free (409 with every
    /// conflicting field).
    private static func checkListenerInContext(name: String, spec: ListenerSpec, transaction: WriteTransaction) async throws {
        var certificates: Set<String> = []
        for certificate in spec.tls?.certificates ?? [] where try await transaction.read.certificate(certificate) != nil {
            certificates.insert(certificate)
        }
        var unknown = FieldErrorCollector()
        ListenerRules.checkCertificates(spec, exists: { certificates.contains($0) }, into: &unknown)
        if !unknown.errors.isEmpty { throw APIError.validation(unknown.errors) }
        var protocols: [String: PoolProtocol] = [:]
        for pool in spec.referencedPools {
            if let record = try await transaction.read.pool(pool) { protocols[pool] = record.spec.protocol }
        }
        let others = try await transaction.read.listeners().filter { $0.spec.port == spec.port }.map { (name: $0.name, spec: $0.spec) }
        var conflicts = FieldErrorCollector()
        ListenerRules.checkReferences(spec, named: name, poolProtocol: { protocols[$0] }, otherListeners: others, into: &conflicts)
        if !conflicts.errors.isEmpty { throw APIError.conflictingFields(conflicts.errors) }
    }
}
