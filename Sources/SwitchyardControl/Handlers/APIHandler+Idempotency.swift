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
    /// Runs a write, honouring `Idempotency-Key`: the same key and request replay the first response,
    /// the same key with another request is refused with 409.
    func idempotentWrite<Body: Codable & Sendable>(
        key: String?,
        request: some Encodable,
        _ perform: @escaping @Sendable (WriteTransaction) async throws -> (body: Body, etag: String?, location: String?)
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

        if let replay = try await replay(Body.self, key: key, actor: context.actor, requestHash: requestHash) { return replay }
        do {
            let (value, generation) = try await store.write(context.writeContext) { transaction in
                let value = try await perform(transaction)
                let outcome = WriteOutcome(
                    body: value.body, etag: value.etag, location: value.location, generation: try await transaction.generation())
                let data = try JSONEncoder().encode(outcome)
                try await transaction.remember(
                    idempotencyKey: key,
                    IdempotentResponse(requestHash: requestHash, status: 200, response: String(decoding: data, as: UTF8.self)))
                return value
            }
            return WriteOutcome(body: value.body, etag: value.etag, location: value.location, generation: generation)
        } catch StoreError.constraint(let state, _) where state == "23505" {
            // A twin request with the same key committed first: answer as it did.
            if let replay = try await replay(Body.self, key: key, actor: context.actor, requestHash: requestHash) { return replay }
            throw APIError.conflict("a request with this Idempotency-Key is in progress")
        }
    }

    private func replay<Body: Codable & Sendable>(_ type: Body.Type, key: String, actor: String, requestHash: String) async throws
        -> WriteOutcome<Body>?
    {
        guard let stored = try await store.idempotentResponse(actor: actor, key: key) else { return nil }
        guard TokenSecret.constantTimeEquals(stored.requestHash, requestHash) else {
            throw APIError.conflict("Idempotency-Key '\(key)' was already used for a different request")
        }
        return try JSONDecoder().decode(WriteOutcome<Body>.self, from: Data(stored.response.utf8))
    }
}
