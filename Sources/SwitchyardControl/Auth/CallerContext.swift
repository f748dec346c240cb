import Foundation
import SwitchyardCore
import SwitchyardStore

/// Who is calling and how, for the duration of one API request (set by `AuthMiddleware`).
struct CallerContext: Sendable {
    /// The token's identity: idempotency keys belong to it (its name may later be another token's).
    var tokenID: UUID
    var actor: String
    var scopes: [Scope]
    /// "POST /v1/pools", recorded in audit rows.
    var request: String

    @TaskLocal static var current: CallerContext?

    var writeContext: WriteContext { WriteContext(actor: actor, request: request) }
}
