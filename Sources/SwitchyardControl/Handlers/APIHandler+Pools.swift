import Foundation
import SwitchyardAPI
import SwitchyardCore
import SwitchyardStore

extension APIHandler {
    func listPools(_ input: Operations.ListPools.Input) async throws -> Operations.ListPools.Output {
        let limit = try Self.pageLimit(input.query.limit)
        let cursor = try Self.decodeCursor(input.query.cursor)
        let rows = try await store.read { try await $0.pools(after: cursor, limit: limit + 1) }
        let page = Self.page(rows, limit: limit, key: \.name)
        return .ok(.init(body: .json(.init(items: page.items.map(Schemas.Pool.init), nextCursor: page.next))))
    }

    func getPool(_ input: Operations.GetPool.Input) async throws -> Operations.GetPool.Output {
        let record = try await existingPool(input.path.pool)
        return .ok(.init(headers: .init(eTag: Self.etag(record.version)), body: .json(.init(record))))
    }

    func createPool(_ input: Operations.CreatePool.Input) async throws -> Operations.CreatePool.Output {
        guard case .json(let body) = input.body else { throw APIError.unsupportedMediaType("expected application/json") }
        var errors = FieldErrorCollector()
        if !ResourceName.isValid(body.name) { errors.add("name", ResourceName.rule) }
        var spec = PoolSpec.defaults
        do { spec = try PoolDraft(body).resolved() } catch { errors.append(contentsOf: error.errors) }
        if !errors.errors.isEmpty { throw APIError.validation(errors.errors) }
        let name = body.name
        let resolved = spec
        let outcome = try await idempotentWrite(
            key: input.headers.idempotencyKey, request: body, exists: { try await self.store.read { try await $0.pool(name) } != nil }
        ) { locks in
            let transaction = locks.done()
            if try await transaction.read.pool(name) != nil { throw APIError.conflict("a pool named '\(name)' already exists") }
            try await transaction.apply(ConfigChange(resource: .pool(name), before: nil, after: .pool(resolved)))
            let record = try await transaction.read.pool(name)!
            return (Schemas.Pool(record), Self.etag(record.version), "/v1/pools/\(name)")
        }
        return .created(
            .init(
                headers: .init(eTag: outcome.etag ?? "", switchyardGeneration: outcome.generation, location: outcome.location ?? ""),
                body: .json(outcome.body)))
    }

    func replacePool(_ input: Operations.ReplacePool.Input) async throws -> Operations.ReplacePool.Output {
        guard case .json(let body) = input.body else { throw APIError.unsupportedMediaType("expected application/json") }
        let name = input.path.pool
        let spec: PoolSpec
        do { spec = try PoolDraft(body).resolved() } catch { throw APIError.rejected(error) }
        let (record, generation) = try await changePool(name, ifMatch: input.headers.ifMatch) { _ in spec }
        return .ok(.init(headers: .init(eTag: Self.etag(record.version), switchyardGeneration: generation), body: .json(.init(record))))
    }

    func updatePool(_ input: Operations.UpdatePool.Input) async throws -> Operations.UpdatePool.Output {
        guard case .json(let body) = input.body else { throw APIError.unsupportedMediaType("expected application/json") }
        let draft = PoolDraft(body)
        let (record, generation) = try await changePool(input.path.pool, ifMatch: input.headers.ifMatch) { current in
            do { return try draft.resolved(over: current) } catch { throw APIError.rejected(error) }
        }
        return .ok(.init(headers: .init(eTag: Self.etag(record.version), switchyardGeneration: generation), body: .json(.init(record))))
    }

    /// Replaces a stored pool's settings with `change(current)`, refusing a protocol change its listeners
    /// cannot follow.
    private func changePool(
        _ name: String, ifMatch: String?, _ change: @escaping @Sendable (PoolSpec) throws -> PoolSpec
    ) async throws -> (PoolRecord, Int64) {
        if ValidationRun.active, let current = try await store.read({ try await $0.pool(name) }) {
            // A validation run (`EnumValueMiddleware`) checks the change against the stored pool and stops at `caller`.
            _ = try change(current.spec)
        }
        let context = try caller
        let (record, generation) = try await store.write(context.writeContext) { locks in
            guard let current = try await locks.pool(name, locking: .pool) else {
                throw APIError.notFound("no pool named '\(name)'")
            }
            let transaction = locks.done()
            // Bad input is answered before a stale If-Match.
            let spec = try change(current.spec)
            try Self.checkIfMatch(ifMatch, version: current.version)
            if spec.protocol != current.spec.protocol {
                let users = try await transaction.read.listenerNames(using: name)
                if !users.isEmpty {
                    throw APIError.conflict(
                        "pool '\(name)' is used by listener(s) \(users.joined(separator: ", ")); its protocol cannot change")
                }
            }
            try await transaction.apply(ConfigChange(resource: .pool(name), before: .pool(current.spec), after: .pool(spec)))
            return try await transaction.read.pool(name)!
        }
        return (record, generation)
    }

    func deletePool(_ input: Operations.DeletePool.Input) async throws -> Operations.DeletePool.Output {
        let name = input.path.pool
        let force = input.query.force ?? false
        let context = try caller
        let (_, generation) = try await store.write(context.writeContext) { locks in
            guard let current = try await locks.pool(name, locking: .pool) else {
                throw APIError.notFound("no pool named '\(name)'")
            }
            let transaction = locks.done()
            try Self.checkIfMatch(input.headers.ifMatch, version: current.version)
            let users = try await transaction.read.listenerNames(using: name)
            if !users.isEmpty {
                throw APIError.conflict("pool '\(name)' is used by listener(s) \(users.joined(separator: ", "))")
            }
            let backends = try await transaction.read.backends(in: name)
            if !backends.isEmpty && !force {
                throw APIError.conflict(
                    "pool '\(name)' still has \(backends.count) backend(s); deregister them or add ?force=true to delete them with it")
            }
            for backend in backends {
                try await transaction.apply(
                    ConfigChange(resource: .backend(backend.name, in: name), before: .backend(backend.spec), after: nil))
            }
            try await transaction.apply(ConfigChange(resource: .pool(name), before: .pool(current.spec), after: nil))
        }
        return .noContent(.init(headers: .init(switchyardGeneration: generation)))
    }

    func existingPool(_ name: String) async throws -> PoolRecord {
        guard let record = try await store.read({ try await $0.pool(name) }) else { throw APIError.notFound("no pool named '\(name)'") }
        return record
    }
}
