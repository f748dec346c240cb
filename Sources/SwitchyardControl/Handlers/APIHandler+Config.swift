import Foundation
import SwitchyardAPI
import SwitchyardCore
import SwitchyardStore

/// Thrown inside a write transaction that turns out to change nothing, to roll back its generation bump.
private struct NothingToChange: Error {}

extension APIHandler {
    func getConfig(_ input: Operations.GetConfig.Input) async throws -> Operations.GetConfig.Output {
        let stored = try await store.document()
        let (document, generation) = (stored.document, stored.generation)
        return .ok(.init(headers: .init(eTag: Self.etag(generation)), body: .json(.init(document, generation: generation))))
    }

    func replaceConfig(_ input: Operations.ReplaceConfig.Input) async throws -> Operations.ReplaceConfig.Output {
        guard case .json(let body) = input.body else { throw APIError.unsupportedMediaType("expected application/json") }
        let pools = (body.pools ?? []).map { pool in
            ConfigDocumentBuilder.PoolItem(
                name: pool.name, draft: PoolDraft(pool),
                backends: (pool.backends ?? []).map { .init(name: $0.name, draft: BackendDraft($0)) })
        }
        let requestedListeners = (body.listeners ?? []).map { (name: $0.name, spec: ListenerSpec($0)) }
        let requestedCertificates = body.certificates ?? []
        let masterKey = self.masterKey
        if let generation = body.generation, generation < 0 { throw APIError.invalid("generation", "must be 0 or more") }
        let ifMatch = input.headers.ifMatch ?? body.generation.map { Self.etag($0) }
        let build: @Sendable (ConfigDocument) throws -> ConfigDocument = { current in
            let listeners = requestedListeners.map { ($0.name, $0.spec) }
            let certificates = try Self.configCertificates(requestedCertificates, current: current, masterKey: masterKey)
            do {
                return try ConfigDocumentBuilder().build(pools: pools, listeners: listeners, certificates: certificates)
            } catch {
                throw APIError.rejected(error)
            }
        }

        // A validation run (`EnumValueMiddleware`) checks the document as a dry run does, without a write.
        if input.query.dryRun ?? false || ValidationRun.active {
            let stored = try await store.document()
            let (current, generation) = (stored.document, stored.generation)
            let target = try build(current)
            try Self.checkIfMatch(ifMatch, version: generation)
            let changes = ConfigDiff.changes(from: current, to: target)
            return Self.diffResponse(applied: false, generation: generation, changes: changes)
        }
        return try await applyDocument(ifMatch: ifMatch) { current, _ in try build(current) }
    }

    /// The certificates of a whole-configuration request: one that repeats a stored chain without a key
    /// keeps the stored certificate (a GET, which shows no keys, then a PUT); any other is read, checked
    /// and sealed. Every bad field of every certificate is reported at once.
    private static func configCertificates(
        _ inputs: [Schemas.ConfigCertificateInput], current: ConfigDocument, masterKey: MasterKey?
    ) throws -> [(name: String, spec: CertificateSpec)] {
        var certificates: [(name: String, spec: CertificateSpec)] = []
        var errors: [FieldError] = []
        for (index, input) in inputs.enumerated() {
            let prefix = "certificates[\(index)]."
            guard let key = input.privateKeyPem else {
                if let stored = current.certificates[input.name], stored.certificatePem == input.certificatePem {
                    certificates.append((input.name, stored))
                } else {
                    errors.append(FieldError(field: prefix + "private_key_pem", message: "is required for a new certificate or a changed chain"))
                }
                continue
            }
            do {
                let spec = try sealedCertificate(
                    name: nil, certificatePEM: input.certificatePem, privateKeyPEM: key, force: false, masterKey: masterKey, fieldPrefix: prefix)
                certificates.append((input.name, spec))
            } catch APIError.validation(let fieldErrors) {
                errors.append(contentsOf: fieldErrors)
            }
        }
        if !errors.isEmpty { throw APIError.validation(errors) }
        return certificates
    }

    func rollbackConfig(_ input: Operations.RollbackConfig.Input) async throws -> Operations.RollbackConfig.Output {
        guard case .json(let body) = input.body else { throw APIError.unsupportedMediaType("expected application/json") }
        let target = body.generation
        let current = try await store.currentGeneration()
        if target < 0 { throw APIError.invalid("generation", "must be 0 or more") }
        if target > current {
            throw APIError.conflictingFields([FieldError(field: "generation", message: "is after the current generation \(current)")])
        }
        let store = self.store
        let output = try await applyDocument(ifMatch: nil) { document, _ in
            // Read under the write lock, so that no change slips in between.
            let reverted = document.reverting(try await store.configChanges(after: target))
            try Self.checkCertificatesNamed(in: reverted)
            return reverted
        }
        switch output {
        case .ok(let ok):
            return .ok(
                .init(headers: .init(eTag: ok.headers.eTag, switchyardGeneration: ok.headers.switchyardGeneration), body: .json(try ok.body.json)))
        default:
            throw APIError.conflict("rollback could not be applied")
        }
    }

    /// Every certificate a listener names exists: a rollback past the import of a listener's inline
    /// certificate (migration 0006) could otherwise restore a listener naming none (409).
    private static func checkCertificatesNamed(in document: ConfigDocument) throws {
        var errors = FieldErrorCollector()
        for name in document.listeners.keys.sorted() {
            var listenerErrors = FieldErrorCollector(prefix: "listeners[\(name)].")
            ListenerRules.checkCertificates(document.listeners[name]!, exists: { document.certificates[$0] != nil }, into: &listenerErrors)
            errors.append(contentsOf: listenerErrors.errors)
        }
        if !errors.errors.isEmpty { throw APIError.conflictingFields(errors.errors) }
    }

    /// Makes the stored configuration equal to `target(current)` in one write.
    private func applyDocument(
        ifMatch: String?, _ target: @escaping @Sendable (ConfigDocument, Int64) async throws -> ConfigDocument
    ) async throws -> Operations.ReplaceConfig.Output {
        let context = try caller
        do {
            let (changes, generation) = try await store.write(context.writeContext) { locks in
                // Any pool may change: lock them all, then the generation, and read the latest state.
                try await locks.lockAllPools()
                let transaction = locks.done()
                let previous = try await transaction.generation() - 1
                let current = try await transaction.read.document()
                let wanted = try await target(current, previous)
                try Self.checkIfMatch(ifMatch, version: previous)
                let changes = ConfigDiff.changes(from: current, to: wanted)
                if changes.isEmpty { throw NothingToChange() }
                try await transaction.apply(changes)
                return changes
            }
            return Self.diffResponse(applied: true, generation: generation, changes: changes)
        } catch is NothingToChange {
            let generation = try await store.currentGeneration()
            return Self.diffResponse(applied: false, generation: generation, changes: [])
        }
    }

    private static func diffResponse(applied: Bool, generation: Int64, changes: [ConfigChange]) -> Operations.ReplaceConfig.Output {
        .ok(
            .init(
                headers: .init(eTag: etag(generation), switchyardGeneration: generation),
                body: .json(.init(applied: applied, generation: generation, changes: changes.map(Schemas.ConfigChange.init)))))
    }

    func listChanges(_ input: Operations.ListChanges.Input) async throws -> Operations.ListChanges.Output {
        let limit = try Self.pageLimit(input.query.limit)
        let cursor = try input.query.cursor.map { text -> Int64 in
            guard text.count <= 18, text.allSatisfy(\.isASCII), let id = Int64(text), id >= 0 else {
                throw APIError.invalid("cursor", "is not a cursor this API returned")
            }
            return id
        }
        let since = input.query.since ?? 0
        if since < 0 { throw APIError.invalid("since", "must be 0 or more") }
        let rows = try await store.changes(since: since, afterID: cursor, limit: limit + 1)
        let page = Self.page(rows, limit: limit, key: { String($0.id) })
        let items = page.items.map { row -> Schemas.Change in
            let change = row.kind == .token ? nil : try? row.configChange()
            return Schemas.Change(
                id: row.id, generation: row.generation, time: row.time, actor: row.actor,
                action: .init(row.action), resourceType: .init(row.kind),
                resource: row.resource, request: row.request,
                before: change.map { jsonValue($0.before) } ?? jsonValue(rawJSON: row.before),
                after: change.map { jsonValue($0.after) } ?? jsonValue(rawJSON: row.after))
        }
        return .ok(.init(body: .json(.init(items: items, nextCursor: page.next))))
    }
}
