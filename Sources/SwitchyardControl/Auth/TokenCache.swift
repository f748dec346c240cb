import SwitchyardStore
import Synchronization

/// Recently verified tokens, so that a burst of calls does not look every token up again. Entries live
/// `lifetime` at most, and all are dropped whenever a token is created or revoked on any instance (the
/// change feed brings `token_generation` within milliseconds); a revocation on this instance drops
/// its entries at once.
///
/// Unknown tokens are remembered too, for `unknownLifetime`: a client repeating a wrong token (a script
/// with a revoked secret in a retry loop, or someone guessing) costs no query per request. Safe because
/// a secret that did not exist cannot start to exist: new secrets are random, and every token change
/// drops these entries as well.
final class TokenCache: Sendable {
    private struct Entry {
        var token: TokenRecord
        var expires: ContinuousClock.Instant
    }

    private let entries = Mutex<[String: Entry]>([:])
    private let unknown = Mutex<[String: ContinuousClock.Instant]>([:])
    private let lifetime: Duration
    private let unknownLifetime: Duration

    init(lifetime: Duration = .seconds(2), unknownLifetime: Duration = .seconds(10)) {
        self.lifetime = lifetime
        self.unknownLifetime = unknownLifetime
    }

    /// Whether `hash` was looked up lately and found to be no token.
    func isKnownUnknown(_ hash: String) -> Bool {
        let now = ContinuousClock.now
        return unknown.withLock { unknown in
            guard let expires = unknown[hash] else { return false }
            if expires <= now {
                unknown[hash] = nil
                return false
            }
            return true
        }
    }

    func rememberUnknown(_ hash: String) {
        let now = ContinuousClock.now
        unknown.withLock { unknown in
            // Bounded: a flood of distinct made-up tokens first sheds the expired entries, then all.
            if unknown.count >= 10_000 {
                unknown = unknown.filter { $0.value > now }
                if unknown.count >= 10_000 { unknown.removeAll() }
            }
            unknown[hash] = now + unknownLifetime
        }
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
        unknown.withLock { $0.removeAll() }
    }
}
