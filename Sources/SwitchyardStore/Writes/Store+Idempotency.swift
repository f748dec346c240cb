import Foundation
import PostgresNIO

extension Store {
    /// The response remembered for `key` of the token `tokenID`, if any and not expired.
    public func idempotentResponse(tokenID: UUID, key: String) async throws -> IdempotentResponse? {
        try await withConnection { connection in
            let rows = try await connection.query(
                """
                SELECT request_hash, status, response::text FROM idempotency_keys
                WHERE token_id = \(tokenID) AND key = \(key) AND created_at > now() - interval '24 hours'
                """, logger: self.logger)
            for try await (hash, status, response) in rows.decode((String, Int, String).self) {
                return IdempotentResponse(requestHash: hash, status: status, response: response)
            }
            return nil
        }
    }

    /// Forgets idempotency keys older than a day.
    public func purgeIdempotencyKeys() async throws {
        try await withConnection { connection in
            try await connection.query(
                "DELETE FROM idempotency_keys WHERE created_at <= now() - interval '24 hours'", logger: self.logger)
        }
    }
}
