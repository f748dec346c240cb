import SwitchyardStore
import Synchronization

/// Recently verified tokens, so that a burst of calls does not look every token up again. Entries live
/// `lifetime` at most, and all are dropped whenever a token is created or revoked on any instance (the
/// change feed brings `token_generation` within milliseconds); a revocation on this instance drops
/// its entries at once. Unknown tokens are never cached.
final class TokenCache: Sendable {
    private struct Entry {
        var token: TokenRecord
        var expires: ContinuousClock.Instant
    }

    private let entries = Mutex<[String: Entry]>([:])
    private let lifetime: Duration

    init(lifetime: Duration = .seconds(2)) {
        self.lifetime = lifetime
    }

    func token(forHash hash: String) -> TokenRecord? {
        let now = ContinuousClock.now
        return entries.withLock { entries in
            guard let entry = entries[hash] else { return nil }
            if entry.expires <= now {
                entries[hash] = nil
                return nil
            }
            return entry.token
        }
    }

    func remember(_ token: TokenRecord, hash: String) {
        let expires = ContinuousClock.now + lifetime
        entries.withLock { entries in
            // Bounded: a flood of distinct valid tokens only costs lookups.
            if entries.count >= 10_000 { entries.removeAll() }
            entries[hash] = Entry(token: token, expires: expires)
        }
    }

    func invalidate(name: String) {
        entries.withLock { entries in entries = entries.filter { $0.value.token.name != name } }
    }

    func invalidateAll() {
        entries.withLock { $0.removeAll() }
    }
}
