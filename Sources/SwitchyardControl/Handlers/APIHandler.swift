import Foundation
import Logging
import OpenAPIRuntime
import SwitchyardAPI
import SwitchyardCore
import SwitchyardStore

/// The control API: one method per operation of openapi.yaml. Handlers stay thin: decode, call the
/// core and the store, map the result; errors are `APIError`s or store errors, mapped by `ProblemMiddleware`.
struct APIHandler: APIProtocol {
    let store: Store
    let metrics: APIMetrics
    let tokenCache: TokenCache
    let openAPIDocument: Data
    let observed: ObservedState
    /// Seals certificates' private keys (nil: none configured).
    let masterKey: MasterKey?
    let logger: Logger

    init(
        store: Store, metrics: APIMetrics, tokenCache: TokenCache, openAPIDocument: Data, observed: ObservedState, masterKey: MasterKey?,
        logger: Logger
    ) {
        self.store = store
        self.masterKey = masterKey
        self.observed = observed
        self.metrics = metrics
        self.tokenCache = tokenCache
        self.openAPIDocument = openAPIDocument
        self.logger = logger
    }

    /// The caller, as `AuthMiddleware` established it. Every write starts here (its `WriteContext` comes
    /// from the caller), which is what ends a `ValidationRun` before anything is written.
    var caller: CallerContext {
        get throws {
            if ValidationRun.active { throw ValidationRun.Finished() }
            guard let context = CallerContext.current else { throw APIError.unauthorized("missing bearer token") }
            return context
        }
    }

    static func etag(_ version: Int64) -> String { "\"\(version)\"" }

    /// Refuses with 412 unless `ifMatch` (when given) names the current version.
    static func checkIfMatch(_ ifMatch: String?, version: Int64?) throws {
        guard let ifMatch else { return }
        let trimmed = ifMatch.trimmingCharacters(in: .whitespaces)
        if trimmed == "*" {
            if version == nil { throw APIError.preconditionFailed("If-Match: * but the resource does not exist") }
            return
        }
        let current = version.map(etag)
        let candidates = trimmed.split(separator: ",").map { tag -> String in
            var tag = tag.trimmingCharacters(in: .whitespaces)
            if tag.hasPrefix("W/") { tag.removeFirst(2) }
            if !tag.hasPrefix("\"") { tag = "\"\(tag)\"" }
            return tag
        }
        guard let current, candidates.contains(current) else {
            throw APIError.preconditionFailed("If-Match \(ifMatch) does not match the current ETag \(current ?? "(none)")")
        }
    }

    // MARK: Paging

    static func pageLimit(_ limit: Int?) throws -> Int {
        let limit = limit ?? 100
        guard (1...10_000).contains(limit) else { throw APIError.invalid("limit", "must be between 1 and 10000") }
        return limit
    }

    /// A cursor is the last key of the previous page (a name, or a change id); the next page starts after it.
    static func decodeCursor(_ cursor: String?) throws -> String? {
        guard let cursor else { return nil }
        guard ResourceName.isValid(cursor) else { throw APIError.invalid("cursor", "is not a cursor this API returned") }
        return cursor
    }

    /// Splits the `limit + 1` rows a query returned into a page and the next cursor.
    static func page<T>(_ rows: [T], limit: Int, key: (T) -> String) -> (items: ArraySlice<T>, next: String?) {
        guard rows.count > limit else { return (rows[...], nil) }
        let items = rows.prefix(limit)
        return (items, items.last.map { key($0) })
    }
}
