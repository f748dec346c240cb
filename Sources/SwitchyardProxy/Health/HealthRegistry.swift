import Foundation
import Logging
import SwitchyardCore
import Synchronization

/// The health of every backend as this instance sees it: one `BackendHealthTracker` per backend, fed by
/// active probes and by request outcomes on every event loop. Event loops read an immutable
/// `HealthView` that is rebuilt only when some backend's availability changes.
public final class HealthRegistry: Sendable {
    private struct Entry {
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
        var transitions: [String: Int] = [:]
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

    /// Bumped whenever the view changes: event loops compare it before taking the lock.
    var version: Int { viewVersion.load(ordering: .acquiring) }

    var view: HealthView { state.withLock { $0.view } }

    /// Starts tracking new backends, forgets removed ones, and resets those whose address or checks changed.
    func reconcile(_ config: RuntimeConfig, now: Date = Date()) {
        state.withLock { state in
            var entries: [String: Entry] = [:]
            for pool in config.pools.values {
                for backend in pool.backends {
                    let identity = Identity(
                        address: backend.spec.address, port: backend.spec.port, healthCheck: pool.spec.healthCheck, passive: pool.spec.passive)
                    if let existing = state.entries[backend.key], existing.identity == identity {
                        entries[backend.key] = existing
                    } else {
                        entries[backend.key] = Entry(
                            tracker: BackendHealthTracker(healthCheck: pool.spec.healthCheck, passive: pool.spec.passive, now: now),
                            identity: identity)
                    }
                }
            }
            state.entries = entries
            troubled.store(entries.values.filter { $0.tracker.hasPassiveFailures }.count, ordering: .relaxed)
            state.transitions = state.transitions.filter { entries[$0.key.components(separatedBy: "|")[0]] != nil }
            rebuildView(&state)
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

    /// Health transitions by "pool/backend|to-status", for /metrics.
    public func transitionCounts() -> [String: Int] { state.withLock { $0.transitions } }

    private func update(_ key: String, _ change: (inout BackendHealthTracker) -> HealthTransition?) {
        let transition: HealthTransition? = state.withLock { state in
            guard var entry = state.entries[key] else { return nil }
            let wasTroubled = entry.tracker.hasPassiveFailures
            let transition = change(&entry.tracker)
            state.entries[key] = entry
            let isTroubled = entry.tracker.hasPassiveFailures
            if wasTroubled != isTroubled { troubled.wrappingAdd(isTroubled ? 1 : -1, ordering: .relaxed) }
            if let transition {
                state.transitions["\(key)|\(transition.to.rawValue)", default: 0] += 1
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

    private func rebuildView(_ state: inout State) {
        var blocked: [String: Date?] = [:]
        for (key, entry) in state.entries {
            if let blockage = Self.blockage(entry.tracker) { blocked[key] = blockage }
        }
        publish(HealthView(version: state.view.version + 1, blocked: blocked), in: &state)
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
