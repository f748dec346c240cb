import Foundation
import SwitchyardCore

/// One pool as one event loop balances it: the backends that may take new requests (admin state,
/// weight, health, active/passive) as balancer candidates, the algorithm's state, and each backend's
/// `BackendSlot`. Rebuilt when the snapshot or the health view changes.
final class PoolBalancer {
    let pool: RuntimePool
    let counters: TrafficCounters
    /// Aligned with `pool.backends`.
    let slots: [BackendSlot]
    private let algorithm: BalancingAlgorithm
    private var candidates: [BalancerCandidate] = []
    private(set) var healthVersion = -1
    /// The earliest end of an ejection that `candidates` left out: rebuild once it is over.
    private var nextExpiry: Date?
    private var roundRobin = SmoothWeightedRoundRobin()
    private var leastConnections = LeastConnections()
    private var twoChoices = PowerOfTwoChoices(generator: SystemRandomNumberGenerator())

    init(pool: RuntimePool, slots: [BackendSlot], counters: TrafficCounters) {
        self.pool = pool
        self.slots = slots
        self.counters = counters
        self.algorithm = pool.spec.algorithm
    }

    /// Recomputes who may take new requests under `health`.
    func rebuild(health: HealthView, now: Date) {
        healthVersion = health.version
        nextExpiry = nil
        var primaries: [BalancerCandidate] = []
        var backups: [BalancerCandidate] = []
        var enabled: [BalancerCandidate] = []
        for (index, backend) in pool.backends.enumerated() where backend.spec.takesNewRequests {
            let candidate = BalancerCandidate(index: index, weight: backend.spec.weight, key: backend.key)
            enabled.append(candidate)
            if let blocked = health.blocked[backend.key] {
                guard let until = blocked, now >= until else {
                    if let until = blocked { nextExpiry = min(nextExpiry ?? until, until) }
                    continue
                }
            }
            if backend.spec.backup && pool.spec.mode == .activePassive {
                backups.append(candidate)
            } else {
                primaries.append(candidate)
            }
        }
        // Fail open, like Envoy's panic mode: when health rules out every enabled backend, a 503 is
        // certain, while trying them all (retries on connect failure) may still serve the request.
        isPanicking = primaries.isEmpty && backups.isEmpty && !enabled.isEmpty
        candidates = !primaries.isEmpty ? primaries : !backups.isEmpty ? backups : enabled
    }

    /// Whether every enabled backend is unhealthy and all of them are tried anyway.
    private(set) var isPanicking = false

    /// Whether the health view moved on, or an ejection that `candidates` left out is over (the clock
    /// is read only while there is one).
    func needsRebuild(healthVersion version: Int) -> Bool {
        if version != healthVersion { return true }
        guard let nextExpiry else { return false }
        return Date() >= nextExpiry
    }

    /// The backend for a new request, leaving out those already `tried`; nil when none may take it.
    func pick(clientKey: [UInt8], excluding tried: [Int]) -> Int? {
        var available = candidates
        if !tried.isEmpty { available.removeAll { tried.contains($0.index) } }
        guard !available.isEmpty else { return nil }
        switch algorithm {
        case .roundRobin:
            return roundRobin.pick(from: available)
        case .leastConnections:
            for position in available.indices { available[position].activeConnections = slots[available[position].index].inFlight }
            return leastConnections.pick(from: available)
        case .randomTwoChoices:
            for position in available.indices { available[position].activeConnections = slots[available[position].index].inFlight }
            return twoChoices.pick(from: available)
        case .sourceHash:
            return SourceHash.pick(key: clientKey, from: available)
        case .consistentHash:
            return ConsistentHash.pick(key: clientKey, from: available)
        }
    }
}
