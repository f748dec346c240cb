import Logging
import NIOCore
import NIOPosix
import SwitchyardCore
import Synchronization

/// Runs the active probes of every backend whose pool has a health check: one repeating task per
/// backend on an event loop, never overlapping itself, feeding `HealthRegistry`. Reconciled with each
/// snapshot: probes start for new backends, stop for removed ones, restart when settings change.
final class HealthChecker: Sendable {
    private struct Probe {
        let identity: Identity
        let task: RepeatedTask
    }

    /// What a running probe checks: when it changes, the probe starts over. A value, not a string:
    /// interpolating the spec went through reflection for every backend on every reload.
    private struct Identity: Equatable {
        var address: String
        var port: Int
        var check: HealthCheckSpec
    }

    private let group: any EventLoopGroup
    private let registry: HealthRegistry
    private let probes = Mutex<[String: Probe]>([:])

    init(group: any EventLoopGroup, registry: HealthRegistry) {
        self.group = group
        self.registry = registry
    }

    /// Follows the pools that changed from one snapshot to the next: probes of their backends start,
    /// stop, or start over when what they check changed.
    func reconcile(_ changes: [PoolChange]) {
        probes.withLock { probes in
            for change in changes {
                let delta = change.backendDelta
                for key in delta.removedKeys { probes.removeValue(forKey: key)?.task.cancel() }
                guard let pool = change.new else { continue }
                let check = pool.spec.healthCheck
                // Unless the pool's check changed, only backends that arrived or changed need a look.
                let sameCheck = change.old?.spec.healthCheck == check
                for backend in sameCheck ? delta.changed : pool.backends {
                    guard check.type != .none else {
                        probes.removeValue(forKey: backend.key)?.task.cancel()
                        continue
                    }
                    let identity = Identity(address: backend.spec.address, port: backend.spec.port, check: check)
                    if let running = probes[backend.key] {
                        if running.identity == identity { continue }
                        running.task.cancel()
                    }
                    probes[backend.key] = Probe(identity: identity, task: start(key: backend.key, backend: backend.spec, check: check))
                }
            }
        }
    }

    func stopAll() {
        probes.withLock { probes in
            for probe in probes.values { probe.task.cancel() }
            probes = [:]
        }
    }

    private func start(key: String, backend: BackendSpec, check: HealthCheckSpec) -> RepeatedTask {
        let eventLoop = group.next()
        let registry = self.registry
        // Spread the first probes over the interval so that many backends are not probed in one burst.
        let jitter = Int64.random(in: 0...Int64(max(check.intervalMs / 4, 1)))
        return eventLoop.scheduleRepeatedAsyncTask(initialDelay: .milliseconds(jitter), delay: .milliseconds(Int64(check.intervalMs))) {
            _ in
            HealthProbe.run(check, host: backend.address, port: backend.port, on: eventLoop).map { failure in
                if let failure {
                    registry.probeFailed(key, reason: failure)
                } else {
                    registry.probeSucceeded(key)
                }
            }
        }
    }
}
