import Foundation
import Logging
import SwitchyardCore
import Synchronization

/// The health of every backend as this instance sees it: one `BackendHealthTracker` per backend, fed by
/// active probes and by request outcomes on every event loop. Event loops read an immutable
/// `HealthView` that is rebuilt only when some backend's availability changes.
public final class HealthRegistry: Sendable {
    private struct Entry {
        /// The backend's pool and name, kept apart for the metrics' labels.
        var pool: String
        var name: String
        var tracker: BackendHealthTracker
        /// Address, port and health settings: when they change, the backend starts over as unknown.
        var identity: Identity
    }

    /// A value, not a string: interpolating the specs went through reflection on every reload.
    private struct Identity: Equatable {
        var address: String
        var port: Int
        var healthCheck: HealthCheckSpec
        var passive: PassiveHealthSpec
    }

    private struct State {
        var entries: [String: Entry] = [:]
        var view = HealthView(version: 0, blocked: [:])
        /// Health transitions of each backend by "pool/backend", counted by the state changed to.
        var transitions: [String: [HealthStatus: Int]] = [:]
    }

    private let state = Mutex(State())
    private let viewVersion = Atomic<Int>(0)
    /// How many backends have passive failures counted or an ejection on: while none has, a
    /// successful request needs no lock and no lookup.
    private let troubled = Atomic<Int>(0)
    private let logger: Logger

    public init(logger: Logger) {
        self.logger = logger
    }

    /// How many backends have passive failures counted or an ejection on.
    var troubledCount: Int { troubled.load(ordering: .relaxed) }

    /// Bumped whenever the view changes: event loops compare it before taking the lock.
    var version: Int { viewVersion.load(ordering: .acquiring) }

    var view: HealthView { state.withLock { $0.view } }

    /// Follows the pools that changed from one snapshot to the next: starts tracking new backends,
    /// forgets removed ones, and resets those whose address or checks changed. Only their entries in
    /// the view change: one registration beside 10,000 backends touches one entry.
    func reconcile(_ changes: [PoolChange], now: Date = Date()) {
        guard !changes.isEmpty else { return }
        state.withLock { state in
            var touched: [String] = []
            var troubledChange = 0
            for change in changes {
                let delta = change.backendDelta
                for key in delta.removedKeys {
                    if state.entries.removeValue(forKey: key)?.tracker.hasPassiveFailures == true { troubledChange -= 1 }
                    state.transitions[key] = nil
                    touched.append(key)
                }
                guard let pool = change.new else { continue }
                // Unless the pool's health settings changed, only backends that arrived or changed can
                // need a new tracker.
                let sameChecks = change.old.map { $0.spec.healthCheck == pool.spec.healthCheck && $0.spec.passive == pool.spec.passive } ?? false
                for backend in sameChecks ? delta.changed : pool.backends {
                    let identity = Identity(
                        address: backend.spec.address, port: backend.spec.port, healthCheck: pool.spec.healthCheck, passive: pool.spec.passive)
                    let existing = state.entries[backend.key]
                    if existing?.identity == identity { continue }
                    if existing?.tracker.hasPassiveFailures == true { troubledChange -= 1 }
                    state.entries[backend.key] = Entry(
                        pool: backend.pool, name: backend.name,
                        tracker: BackendHealthTracker(healthCheck: pool.spec.healthCheck, passive: pool.spec.passive, now: now),
                        identity: identity)
                    touched.append(backend.key)
                }
            }
            if troubledChange != 0 { troubled.wrappingAdd(troubledChange, ordering: .relaxed) }
            guard !touched.isEmpty else { return }
            var blocked = state.view.blocked
            for key in touched { blocked[key] = state.entries[key].flatMap { Self.blockage($0.tracker) } }
            publish(HealthView(version: state.view.version + 1, blocked: blocked), in: &state)
        }
    }

    func probeSucceeded(_ key: String, now: Date = Date()) {
        update(key) { $0.probeSucceeded(at: now) }
    }

    func probeFailed(_ key: String, reason: String, now: Date = Date()) {
        update(key) { $0.probeFailed(reason, at: now) }
    }

    func requestSucceeded(_ key: String) {
        guard troubled.load(ordering: .relaxed) > 0 else { return }
        let now = Date()
        update(key) { $0.requestSucceeded(at: now) }
    }

    func requestFailed(_ key: String, reason: String, now: Date = Date()) {
        update(key) { $0.requestFailed(reason, at: now) }
    }

    /// Every backend's health for the API.
    public func reports(now: Date = Date()) -> [String: BackendHealthReport] {
        state.withLock { state in state.entries.mapValues { Self.report(of: $0, at: now) } }
    }

    /// One backend's health for the API.
    public func report(for key: String, now: Date = Date()) -> BackendHealthReport? {
        state.withLock { state in state.entries[key].map { Self.report(of: $0, at: now) } }
    }

    private static func report(of entry: Entry, at now: Date) -> BackendHealthReport {
        let status = entry.tracker.reportedStatus(at: now)
        if status != entry.tracker.status, let until = entry.tracker.ejectedUntil {
            return BackendHealthReport(status: status, reason: "ejected until \(until) after failed requests", since: entry.tracker.since)
        }
        return BackendHealthReport(status: status, reason: entry.tracker.reason, since: entry.tracker.since)
    }

    /// Health transitions of each backend by "pool/backend", counted by the state changed to.
    public func transitionCounts() -> [String: [HealthStatus: Int]] { state.withLock { $0.transitions } }

    /// Every tracked backend's health for /metrics, ordered by pool, then name.
    public func metrics(now: Date = Date()) -> [DataPlaneMetrics.BackendHealth] {
        let backends = state.withLock { state in
            state.entries.map { key, entry in
                DataPlaneMetrics.BackendHealth(
                    pool: entry.pool, name: entry.name, up: entry.tracker.reportedStatus(at: now) != .unhealthy,
                    transitions: state.transitions[key] ?? [:])
            }
        }
        return backends.sorted { ($0.pool, $0.name) < ($1.pool, $1.name) }
    }

    private func update(_ key: String, _ change: (inout BackendHealthTracker) -> HealthTransition?) {
        let transition: HealthTransition? = state.withLock { state in
            guard var entry = state.entries[key] else { return nil }
            let wasTroubled = entry.tracker.hasPassiveFailures
            let transition = change(&entry.tracker)
            state.entries[key] = entry
            let isTroubled = entry.tracker.hasPassiveFailures
            if wasTroubled != isTroubled { troubled.wrappingAdd(isTroubled ? 1 : -1, ordering: .relaxed) }
            if let transition {
                state.transitions[key, default: [:]][transition.to, default: 0] += 1
                // One backend changed: touch its entry only (a rebuild is O(backends), and 10,000
                // backends turning healthy at start-up would make that O(n²)).
                var blocked = state.view.blocked
                if let blockage = Self.blockage(entry.tracker) { blocked[key] = blockage } else { blocked[key] = nil }
                publish(HealthView(version: state.view.version + 1, blocked: blocked), in: &state)
            }
            return transition
        }
        if let transition {
            logger.notice(
                "backend health changed",
                metadata: ["backend": "\(key)", "from": "\(transition.from)", "to": "\(transition.to)", "reason": "\(transition.reason)"])
        }
    }

    private func publish(_ view: HealthView, in state: inout State) {
        state.view = view
        viewVersion.store(view.version, ordering: .releasing)
    }

    /// Whether a backend is kept from new requests: `.some(nil)` while unhealthy, `.some(until)` while
    /// ejected, nil when available.
    private static func blockage(_ tracker: BackendHealthTracker) -> Date?? {
        if tracker.status == .unhealthy { return .some(nil) }
        if let until = tracker.ejectedUntil { return .some(until) }
        return nil
    }
}

/// Which backends may not take new requests: unhealthy ones (nil) and ejected ones (until a date).
struct HealthView: Sendable {
    let version: Int
    let blocked: [String: Date?]

    func isAvailable(_ key: String, at now: Date) -> Bool {
        guard let entry = blocked[key] else { return true }
        guard let until = entry else { return false }
        return now >= until
    }
}
