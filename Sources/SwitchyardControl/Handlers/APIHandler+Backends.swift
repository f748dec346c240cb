import Foundation
import SwitchyardAPI
import SwitchyardCore
import SwitchyardStore

extension APIHandler {
    func listBackends(_ input: Operations.ListBackends.Input) async throws -> Operations.ListBackends.Output {
        let limit = try Self.pageLimit(input.query.limit)
        let cursor = try Self.decodeCursor(input.query.cursor)
        let view = observed.backendView(forList: true)
        // Lists can be 10,000 backends long: written by hand (the middleware swaps the bytes in), batch
        // by batch while the store reads the next.
        guard let preencoded = PreencodedBody.current else {
            let pool = input.path.pool
            let rows = try await store.read { try await $0.backends(in: pool, after: cursor, limit: limit + 1) }
            if rows.isEmpty { _ = try await existingPool(input.path.pool) }
            let page = Self.page(rows, limit: limit, key: \.name)
            return .ok(.init(body: .json(.init(items: page.items.map { Schemas.Backend($0, observed: view) }, nextCursor: page.next))))
        }
        var writer = BackendListWriter(view: view)
        var (count, last, next): (Int, String?, String?) = (0, nil, nil)
        // `limit + 1` rows: one more than the page says whether another follows.
        batches: for try await batch in store.backendBatches(in: input.path.pool, after: cursor, limit: limit + 1) {
            for record in batch {
                if count == limit {
                    next = last
                    break batches
                }
                writer.append(record)
                (count, last) = (count + 1, record.name)
            }
        }
        // A stream ends early, without an error, when its reader is cancelled: never answer a cut page.
        try Task.checkCancellation()
        if count == 0 { _ = try await existingPool(input.path.pool) }
        preencoded.put(writer.finish(nextCursor: next))
        return .ok(.init(body: .json(.init(items: []))))
    }

    func getBackend(_ input: Operations.GetBackend.Input) async throws -> Operations.GetBackend.Output {
        let (pool, name) = (input.path.pool, input.path.backend)
        guard let record = try await store.read({ try await $0.backend(name, in: pool) }) else {
            _ = try await existingPool(pool)
            throw APIError.notFound("no backend named '\(name)' in pool '\(pool)'")
        }
        return .ok(.init(headers: .init(eTag: Self.etag(record.version)), body: .json(.init(record, observed: observed.backendView()))))
    }

    func createBackend(_ input: Operations.CreateBackend.Input) async throws -> Operations.CreateBackend.Output {
        guard case .json(let body) = input.body else { throw APIError.unsupportedMediaType("expected application/json") }
        var errors = FieldErrorCollector()
        if !ResourceName.isValid(body.name) { errors.add("name", ResourceName.rule) }
        var spec = BackendSpec(address: "", port: 0)
        do { spec = try BackendDraft(body).resolved(over: nil) } catch { errors.append(contentsOf: error.errors) }
        if !errors.errors.isEmpty { throw APIError.validation(errors.errors) }
        let (pool, name) = (input.path.pool, body.name)
        let resolved = spec
        let outcome: WriteOutcome<Schemas.Backend>
        if let key = input.headers.idempotencyKey {
            outcome = try await idempotentWrite(
                key: key, request: body, exists: { try await self.store.read { try await $0.backend(name, in: pool) } != nil }
            ) { locks in
                // The pool stays while we add to it; other registrations in it go on side by side.
                guard try await locks.pool(pool, locking: .share) != nil else { throw APIError.notFound("no pool named '\(pool)'") }
                let transaction = locks.done()
                if try await transaction.read.backend(name, in: pool) != nil {
                    throw APIError.conflict("pool '\(pool)' already has a backend named '\(name)'")
                }
                let stamp = try await transaction.apply(ConfigChange(resource: .backend(name, in: pool), before: nil, after: .backend(resolved)))
                let record = BackendRecord(
                    pool: pool, name: name, spec: resolved, version: try await transaction.generation(), createdAt: stamp, updatedAt: stamp)
                return (Schemas.Backend(record, observed: observed.backendView()), Self.etag(record.version), "/v1/pools/\(pool)/backends/\(name)")
            }
        } else {
            // The common case, in one statement (see `Store.register`).
            let written: (generation: Int64, stamp: Date)?
            do {
                written = try await store.register(backend: name, in: pool, resolved, context: try caller.writeContext)
            } catch StoreError.constraint(let state, _) where state == "23505" {
                throw APIError.conflict("pool '\(pool)' already has a backend named '\(name)'")
            }
            guard let written else { throw APIError.notFound("no pool named '\(pool)'") }
            let record = BackendRecord(
                pool: pool, name: name, spec: resolved, version: written.generation, createdAt: written.stamp, updatedAt: written.stamp)
            outcome = WriteOutcome(
                body: Schemas.Backend(record, observed: observed.backendView()), etag: Self.etag(record.version),
                location: "/v1/pools/\(pool)/backends/\(name)", generation: written.generation)
        }
        return .created(
            .init(
                headers: .init(eTag: outcome.etag ?? "", switchyardGeneration: outcome.generation, location: outcome.location ?? ""),
                body: .json(outcome.body)))
    }

    func updateBackend(_ input: Operations.UpdateBackend.Input) async throws -> Operations.UpdateBackend.Output {
        guard case .json(let body) = input.body else { throw APIError.unsupportedMediaType("expected application/json") }
        let draft = BackendDraft(body)
        let (pool, name) = (input.path.pool, input.path.backend)
        let (record, generation) = try await changeBackend(pool, name, ifMatch: input.headers.ifMatch, force: input.query.force ?? false) {
            current in
            do { return try draft.resolved(over: current) } catch { throw APIError.rejected(error) }
        }
        return .ok(
            .init(
                headers: .init(eTag: Self.etag(record!.version), switchyardGeneration: generation),
                body: .json(.init(record!, observed: observed.backendView()))))
    }

    func deleteBackend(_ input: Operations.DeleteBackend.Input) async throws -> Operations.DeleteBackend.Output {
        let (pool, name) = (input.path.pool, input.path.backend)
        if input.headers.ifMatch == nil {
            // The common case, in one statement (see `Store.deregister`).
            let outcome = try await store.deregister(
                backend: name, in: pool, unguarded: input.query.force ?? false, context: try caller.writeContext)
            switch outcome {
            case .deregistered(let generation): return .noContent(.init(headers: .init(switchyardGeneration: generation)))
            case .noPool: throw APIError.notFound("no pool named '\(pool)'")
            case .noBackend: throw APIError.notFound("no backend named '\(name)' in pool '\(pool)'")
            case .guarded: break
            }
        }
        let (_, generation) = try await changeBackend(pool, name, ifMatch: input.headers.ifMatch, force: input.query.force ?? false) { _ in
            nil
        }
        return .noContent(.init(headers: .init(switchyardGeneration: generation)))
    }

    /// Changes (or, when `change` returns nil, deregisters) a backend, under the pool's
    /// `min_healthy_percent` guardrail.
    private func changeBackend(
        _ pool: String, _ name: String, ifMatch: String?, force: Bool,
        _ change: @escaping @Sendable (BackendSpec) throws -> BackendSpec?
    ) async throws -> (BackendRecord?, Int64) {
        if ValidationRun.active, let current = try await store.read({ try await $0.backend(name, in: pool) }) {
            // A validation run (`EnumValueMiddleware`) checks the change against the stored backend and stops at `caller`.
            _ = try change(current.spec)
        }
        let context = try caller
        return try await store.write(context.writeContext) { locks in
            // One change to a pool's backends at a time, so that the guardrail and If-Match see the latest state.
            guard let (poolSpec, found) = try await locks.pool(pool, locking: .backends, backend: name) else {
                throw APIError.notFound("no pool named '\(pool)'")
            }
            let transaction = locks.done()
            guard let current = found else {
                throw APIError.notFound("no backend named '\(name)' in pool '\(pool)'")
            }
            // Bad input is answered before a stale If-Match.
            let updated = try change(current.spec)
            try Self.checkIfMatch(ifMatch, version: current.version)
            // The guardrail needs every sibling; without it, the backend alone does.
            if !force && poolSpec.minHealthyPercent > 0 {
                let siblings = try await transaction.read.backends(in: pool)
                let after = siblings.compactMap { $0.name == name ? updated : $0.spec }
                if let reason = HealthyGuardrail.violation(
                    minHealthyPercent: poolSpec.minHealthyPercent, before: siblings.map(\.spec), after: after)
                {
                    throw APIError.conflict("pool '\(pool)': \(reason)")
                }
            }
            let stamp = try await transaction.apply(
                ConfigChange(resource: .backend(name, in: pool), before: .backend(current.spec), after: updated.map { .backend($0) }))
            guard let updated else { return nil }
            return BackendRecord(
                pool: pool, name: name, spec: updated, version: try await transaction.generation(), createdAt: current.createdAt,
                updatedAt: stamp)
        }
    }
}
