import SwitchyardCore
import Synchronization

/// Every traffic counter of the data plane, by listener, pool and backend. The event loops add to
/// the counters; `counts()` reads them all for /metrics.
public final class ProxyMetrics: Sendable {
    /// A backend's counters with its pool and name, kept apart for the metric's labels.
    private struct BackendCounters {
        var pool: String
        var name: String
        var counters: TrafficCounters
    }

    private struct Registry {
        var listeners: [String: TrafficCounters] = [:]
        var pools: [String: TrafficCounters] = [:]
        /// By "pool/backend" (`RuntimeBackend.key`), the key the API looks backends up by.
        var backends: [String: BackendCounters] = [:]
    }

    private let registry = Mutex(Registry())

    public init() {}

    public func listener(_ name: String) -> TrafficCounters { counters(\.listeners, name) }
    public func pool(_ name: String) -> TrafficCounters { counters(\.pools, name) }

    /// The counters of `backend`.
    public func backend(_ backend: RuntimeBackend) -> TrafficCounters {
        registry.withLock { registry in
            if let existing = registry.backends[backend.key] { return existing.counters }
            let created = TrafficCounters()
            registry.backends[backend.key] = BackendCounters(pool: backend.pool, name: backend.name, counters: created)
            return created
        }
    }

    private func counters(_ kind: WritableKeyPath<Registry, [String: TrafficCounters]>, _ name: String) -> TrafficCounters {
        registry.withLock { registry in
            if let existing = registry[keyPath: kind][name] { return existing }
            let created = TrafficCounters()
            registry[keyPath: kind][name] = created
            return created
        }
    }

    /// Active connections to `key` ("pool/backend") on this instance: requests in flight (HTTP) or
    /// sessions (TCP).
    public func activeConnections(backend key: String) -> Int {
        guard let entry = registry.withLock({ $0.backends[key] }) else { return 0 }
        return entry.counters.inFlightAndActive
    }

    /// Active connections of every backend that has any, by "pool/backend".
    public func activeConnections() -> [String: Int] {
        let backends = registry.withLock { $0.backends }
        var counts: [String: Int] = [:]
        for (key, entry) in backends {
            let count = entry.counters.inFlightAndActive
            if count != 0 { counts[key] = count }
        }
        return counts
    }

    /// Forgets counters of listeners, pools and backends that no longer exist.
    func retain(listeners: Set<String>, pools: Set<String>, backends: Set<String>) {
        registry.withLock { registry in
            registry.listeners = registry.listeners.filter { listeners.contains($0.key) }
            registry.pools = registry.pools.filter { pools.contains($0.key) }
            registry.backends = registry.backends.filter { backends.contains($0.key) }
        }
    }

    /// Forgets counters of listeners and pools that no longer exist, and of `removedBackends`: what a
    /// snapshot removed, without a walk over every backend's counters.
    func retain(listeners: Set<String>, pools: Set<String>, removingBackends removedBackends: [String]) {
        registry.withLock { registry in
            registry.listeners = registry.listeners.filter { listeners.contains($0.key) }
            registry.pools = registry.pools.filter { pools.contains($0.key) }
            for key in removedBackends { registry.backends[key] = nil }
        }
    }

    /// Every counter as it is now, ordered by name (a backend by pool, then name). The lock is held
    /// only to copy the references; the counters are read after.
    public func counts() -> (listeners: [DataPlaneMetrics.Listener], pools: [DataPlaneMetrics.Pool], backends: [DataPlaneMetrics.Backend]) {
        let (listeners, pools, backends) = registry.withLock { ($0.listeners, $0.pools, $0.backends) }
        return (
            listeners.sorted { $0.key < $1.key }.map { $0.value.listener(named: $0.key) },
            pools.sorted { $0.key < $1.key }.map { DataPlaneMetrics.Pool(name: $0.key, traffic: $0.value.traffic) },
            backends.values.sorted { ($0.pool, $0.name) < ($1.pool, $1.name) }.map {
                DataPlaneMetrics.Backend(pool: $0.pool, name: $0.name, traffic: $0.counters.traffic)
            }
        )
    }
}
