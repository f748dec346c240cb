import Foundation
import SwitchyardCore
import Synchronization

/// The decoded `backend_health` of each instance, kept while its stored text stays the same. With
/// 10,000 backends that text is about a megabyte, and decoding it at every heartbeat cost more than a
/// list of all of them; heartbeats leave it untouched while health does not change.
final class ObservationCache: Sendable {
    private let entries = Mutex<[UUID: (text: String, health: [String: BackendHealthReport])]>([:])

    /// `text` decoded, from the cache when `instance` last had the same text.
    func backendHealth(of instance: UUID, text: String, decode: (String) -> [String: BackendHealthReport])
        -> [String: BackendHealthReport]
    {
        if let cached = entries.withLock({ $0[instance] }), cached.text == text { return cached.health }
        let health = decode(text)
        entries.withLock { $0[instance] = (text, health) }
        return health
    }

    /// Forgets instances other than `instances`.
    func keep(only instances: Set<UUID>) {
        entries.withLock { entries in entries = entries.filter { instances.contains($0.key) } }
    }
}
