import Crypto
import Foundation
import SwitchyardCore
import SwitchyardStore

/// What a write handler hands back: the body, the headers a retry must repeat, the generation.
struct WriteOutcome<Body: Codable & Sendable>: Codable, Sendable {
    var body: Body
    var etag: String?
    var location: String?
    var generation: Int64
}

extension APIHandler {
    /// Runs a create, honouring `Idempotency-Key` (scoped to the calling token, kept 24 hours): the same
    /// key and request replay the first response, the same key with another request is refused with 409.
    /// A replay answers as the first response did only while the resource it created still exists
    /// (`exists`, changed or not since); once it was deleted the replay is a 409 saying so, and the
    /// request is not run again: a response that points at a resource gone would mislead the retry.
    func idempotentWrite<Body: Codable & Sendable>(
        key: String?,
        request: some Encodable,
        exists: @escaping @Sendable () async throws -> Bool,
        _ perform: @escaping @Sendable (consuming PoolLocks) async throws -> (body: Body, etag: String?, location: String?)
    ) async throws -> WriteOutcome<Body> {
        let context = try caller
        guard let key else {
            let (value, generation) = try await store.write(context.writeContext, perform)
            return WriteOutcome(body: value.body, etag: value.etag, location: value.location, generation: generation)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let requestBytes = context.request.utf8 + [0] + ((try? encoder.encode(request)) ?? Data())
        let requestHash = TokenSecret.hex(SHA256.hash(data: Data(requestBytes)))
        let replay = { @Sendable () async throws -> WriteOutcome<Body>? in
            try await self.replay(Body.self, key: key, tokenID: context.tokenID, requestHash: requestHash, exists: exists)
        }

        if let replayed = try await replay() { return replayed }
        do {
            let (value, generation) = try await store.write(context.writeContext, perform) { value, transaction in
                let outcome = WriteOutcome(
                    body: value.body, etag: value.etag, location: value.location, generation: try await transaction.generation())
                let data = try JSONEncoder().encode(outcome)
                try await transaction.remember(
                    idempotencyKey: key, tokenID: context.tokenID,
                    IdempotentResponse(requestHash: requestHash, status: 200, response: String(decoding: data, as: UTF8.self)))
                return value
            }
            return WriteOutcome(body: value.body, etag: value.etag, location: value.location, generation: generation)
        } catch StoreError.constraint(let state, _) where state == "23505" {
            // A twin request with the same key committed first: answer as it did.
            if let replayed = try await replay() { return replayed }
            throw APIError.conflict("a request with this Idempotency-Key is in progress")
        }
    }

    private func replay<Body: Codable & Sendable>(
        _ type: Body.Type, key: String, tokenID: UUID, requestHash: String, exists: @Sendable () async throws -> Bool
    ) async throws -> WriteOutcome<Body>? {
        guard let stored = try await store.idempotentResponse(tokenID: tokenID, key: key) else { return nil }
        guard TokenSecret.constantTimeEquals(stored.requestHash, requestHash) else {
            throw APIError.conflict("Idempotency-Key '\(key)' was already used for a different request")
        }
        let outcome = try JSONDecoder().decode(WriteOutcome<Body>.self, from: Data(stored.response.utf8))
        guard try await exists() else {
            throw APIError.conflict(
                "the request with Idempotency-Key '\(key)' was done (generation \(outcome.generation)), and what it created, "
                    + "\(outcome.location ?? "the resource"), has been deleted since; it is not done again")
        }
        return outcome
    }
}
