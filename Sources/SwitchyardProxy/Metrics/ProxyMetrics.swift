import Synchronization

/// Every traffic counter of the data plane, by listener, pool and backend, and their Prometheus text.
public final class ProxyMetrics: Sendable {
    private struct Registry {
        var listeners: [String: TrafficCounters] = [:]
        var pools: [String: TrafficCounters] = [:]
        /// By "pool/backend".
        var backends: [String: TrafficCounters] = [:]
    }

    private let registry = Mutex(Registry())

    public init() {}

    public func listener(_ name: String) -> TrafficCounters { counters(\.listeners, name) }
    public func pool(_ name: String) -> TrafficCounters { counters(\.pools, name) }
    /// The counters of "pool/backend".
    public func backend(_ key: String) -> TrafficCounters { counters(\.backends, key) }

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
        guard let counters = registry.withLock({ $0.backends[key] }) else { return 0 }
        return counters.inFlightAndActive
    }

    /// Active connections of every backend that has any, by "pool/backend".
    public func activeConnections() -> [String: Int] {
        let backends = registry.withLock { $0.backends }
        var counts: [String: Int] = [:]
        for (key, counters) in backends {
            let count = counters.inFlightAndActive
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

    /// `pool="…",backend="…"` for a "pool/backend" key.
    static func backendLabels(_ key: String) -> String {
        let parts = key.split(separator: "/", maxSplits: 1)
        return "pool=\"\(parts[0])\",backend=\"\(parts.count > 1 ? parts[1] : "")\""
    }

    /// The counters in Prometheus text format.
    public func render(into out: inout String) {
        let (listeners, pools, backends) = registry.withLock { ($0.listeners, $0.pools, $0.backends) }
        func labels(_ kind: String, _ name: String) -> String {
            kind == "backend" ? Self.backendLabels(name) : "\(kind)=\"\(name)\""
        }
        for (kind, entries) in [("listener", listeners), ("pool", pools), ("backend", backends)] {
            let sorted = entries.sorted { $0.key < $1.key }.map { ($0.key, $0.value.snapshot) }
            let prefix = "switchyard_\(kind)"
            out += "# HELP \(prefix)_requests_total Requests received (listener) or sent (pool, backend).\n# TYPE \(prefix)_requests_total counter\n"
            for (name, counts) in sorted { out += "\(prefix)_requests_total{\(labels(kind, name))} \(counts.requests)\n" }
            out += "# HELP \(prefix)_responses_total Responses by status class.\n# TYPE \(prefix)_responses_total counter\n"
            for (name, counts) in sorted {
                for statusClass in 1...5 where counts.responses[statusClass] > 0 {
                    out += "\(prefix)_responses_total{\(labels(kind, name)),class=\"\(statusClass)xx\"} \(counts.responses[statusClass])\n"
                }
            }
            out += "# HELP \(prefix)_failures_total Exchanges that failed (connect error, timeout, cut response).\n"
            out += "# TYPE \(prefix)_failures_total counter\n"
            for (name, counts) in sorted { out += "\(prefix)_failures_total{\(labels(kind, name))} \(counts.failures)\n" }
            out += "# HELP \(prefix)_retries_total Requests sent again to another attempt.\n# TYPE \(prefix)_retries_total counter\n"
            for (name, counts) in sorted { out += "\(prefix)_retries_total{\(labels(kind, name))} \(counts.retries)\n" }
            out += "# HELP \(prefix)_requests_in_flight Requests waiting for their response.\n# TYPE \(prefix)_requests_in_flight gauge\n"
            for (name, counts) in sorted { out += "\(prefix)_requests_in_flight{\(labels(kind, name))} \(counts.inFlight)\n" }
            out += "# HELP \(prefix)_connections_total Connections accepted (listener) or TCP sessions opened (backend).\n"
            out += "# TYPE \(prefix)_connections_total counter\n"
            for (name, counts) in sorted { out += "\(prefix)_connections_total{\(labels(kind, name))} \(counts.connections)\n" }
            out += "# HELP \(prefix)_active_connections Open client connections (listener) or TCP sessions (backend).\n"
            out += "# TYPE \(prefix)_active_connections gauge\n"
            for (name, counts) in sorted { out += "\(prefix)_active_connections{\(labels(kind, name))} \(counts.activeConnections)\n" }
            if kind == "listener" {
                out += "# HELP \(prefix)_accept_paused_total Pauses of accepting: at the connection limit, or out of descriptors or memory.\n"
                out += "# TYPE \(prefix)_accept_paused_total counter\n"
                out += "# HELP \(prefix)_rate_limited_total Connections and requests refused by a per-client rate limit.\n"
                out += "# TYPE \(prefix)_rate_limited_total counter\n"
                for (name, counts) in sorted where counts.rateLimitedConnections + counts.rateLimitedRequests > 0 {
                    out += "\(prefix)_rate_limited_total{\(labels(kind, name)),kind=\"connection\"} \(counts.rateLimitedConnections)\n"
                    out += "\(prefix)_rate_limited_total{\(labels(kind, name)),kind=\"request\"} \(counts.rateLimitedRequests)\n"
                }
                out += "# HELP \(prefix)_timeouts_total Timeouts that expired, by phase.\n# TYPE \(prefix)_timeouts_total counter\n"
                for (name, counts) in sorted {
                    for phase in TrafficCounters.TimeoutPhase.allCases where counts.timeouts[phase.rawValue] > 0 {
                        out += "\(prefix)_timeouts_total{\(labels(kind, name)),phase=\"\(phase.label)\"} \(counts.timeouts[phase.rawValue])\n"
                    }
                }
                for (name, counts) in sorted {
                    for pause in TrafficCounters.AcceptPauseKind.allCases {
                        out += "\(prefix)_accept_paused_total{\(labels(kind, name)),reason=\"\(pause.label)\"} \(counts.acceptPauses[pause.rawValue])\n"
                    }
                }
            }
            out += "# HELP \(prefix)_request_duration_seconds Time from request head to the end of the response.\n"
            out += "# TYPE \(prefix)_request_duration_seconds histogram\n"
            for (name, counts) in sorted {
                var cumulative = 0
                for (index, bound) in TrafficCounters.latencyBounds.enumerated() {
                    cumulative += counts.latencyBuckets[index]
                    out += "\(prefix)_request_duration_seconds_bucket{\(labels(kind, name)),le=\"\(bound)\"} \(cumulative)\n"
                }
                cumulative += counts.latencyBuckets[TrafficCounters.latencyBounds.count]
                out += "\(prefix)_request_duration_seconds_bucket{\(labels(kind, name)),le=\"+Inf\"} \(cumulative)\n"
                out += "\(prefix)_request_duration_seconds_sum{\(labels(kind, name))} \(counts.latencySum)\n"
                out += "\(prefix)_request_duration_seconds_count{\(labels(kind, name))} \(cumulative)\n"
            }
        }
    }
}
