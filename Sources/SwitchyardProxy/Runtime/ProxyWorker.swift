import Foundation
import Logging
import NIOCore
import SwitchyardCore
import SwitchyardIO

/// Everything one event loop needs to proxy without locks on the request path: a cached snapshot
/// (refreshed when the box's generation moves), a `PoolBalancer` per pool and a `BackendSlot` per
/// backend with its pooled connections. Confined to `eventLoop`; `@unchecked Sendable` only so that
/// closures run on that loop (listeners' accepts, snapshot applies) can reach it.
final class ProxyWorker: @unchecked Sendable {
    let eventLoop: EpollEventLoop
    let shared: ProxyShared
    private var config = RuntimeConfig.empty
    /// By pool name; each holds its pool's backends and their slots.
    private var balancers: [String: PoolBalancer] = [:]

    init(eventLoop: EpollEventLoop, shared: ProxyShared) {
        self.eventLoop = eventLoop
        self.shared = shared
    }

    /// The snapshot in force, refreshed if the box moved on.
    func currentConfig() -> RuntimeConfig {
        if shared.box.generation != config.generation { refresh() }
        return config
    }

    /// The balancer of `pool` in the current snapshot, with candidates current for the health view.
    func balancer(for pool: String) -> PoolBalancer? {
        if shared.box.generation != config.generation { refresh() }
        guard let balancer = balancers[pool] else { return nil }
        refreshHealth(of: balancer)
        return balancer
    }

    /// Brings `balancer`'s candidates up to date with the health view.
    @inline(__always)
    func refreshHealth(of balancer: PoolBalancer) {
        guard balancer.needsRebuild(healthVersion: shared.health.version) else { return }
        let wasFailingOpen = balancer.isPanicking
        balancer.rebuild(health: shared.health.view, now: Date())
        if balancer.isPanicking != wasFailingOpen {
            shared.logger.warning(
                balancer.isPanicking
                    ? "every enabled backend of the pool is unhealthy: trying them all (fail open)"
                    : "the pool has healthy backends again",
                metadata: ["pool": "\(balancer.pool.name)"])
        }
    }

    /// Takes the box's snapshot: new balancers, slots kept for unchanged backends, drains for the rest.
    /// A pool equal to its previous snapshot keeps its balancer and slots as they are: a write to one
    /// pool must not cost a rebuild of a 10,000-backend pool beside it. A changed pool is walked
    /// beside its previous version (both sorted by name, slots aligned with backends): no lookups, no
    /// keys built per backend.
    func refresh() {
        eventLoop.preconditionInEventLoop()
        let config = shared.box.config
        guard config.generation != self.config.generation else { return }
        var balancers: [String: PoolBalancer] = [:]
        balancers.reserveCapacity(config.pools.count)
        for pool in config.pools.values {
            let previous = self.balancers[pool.name]
            if let previous, previous.pool == pool {
                balancers[pool.name] = previous
                continue
            }
            balancers[pool.name] = PoolBalancer(
                pool: pool, slots: slots(for: pool, replacing: previous), counters: shared.metrics.pool(pool.name))
        }
        // Pools that left the snapshot drain with their old timeout.
        for (name, previous) in self.balancers where config.pools[name] == nil {
            let drainTimeout = TimeAmount.milliseconds(Int64(previous.pool.spec.drainTimeoutMs))
            for slot in previous.slots { slot.setAccepting(false, drainTimeout: drainTimeout, on: eventLoop) }
        }
        self.config = config
        self.balancers = balancers
    }

    /// The slots of `pool`'s backends: a backend still at the address and port it had keeps its slot
    /// (and pooled connections); the slots of backends that left or moved drain with the previous
    /// pool's timeout.
    private func slots(for pool: RuntimePool, replacing previous: PoolBalancer?) -> [BackendSlot] {
        let oldSlots = previous?.slots ?? []
        let oldDrainTimeout = TimeAmount.milliseconds(Int64(previous?.pool.spec.drainTimeoutMs ?? 0))
        let drainTimeout = TimeAmount.milliseconds(Int64(pool.spec.drainTimeoutMs))
        let drainOld = { (index: Int) in oldSlots[index].setAccepting(false, drainTimeout: oldDrainTimeout, on: self.eventLoop) }
        var old = BackendCursor(previous?.pool.backends ?? [])
        var slots: [BackendSlot] = []
        slots.reserveCapacity(pool.backends.count)
        for backend in pool.backends {
            var kept: BackendSlot?
            if let index = old.index(of: backend.name, passing: drainOld) {
                if oldSlots[index].host == backend.spec.address && oldSlots[index].port == backend.spec.port {
                    kept = oldSlots[index]
                } else {
                    drainOld(index)
                }
            }
            let slot =
                kept
                ?? BackendSlot(key: backend.key, host: backend.spec.address, port: backend.spec.port, counters: shared.metrics.backend(backend))
            slot.setAccepting(backend.spec.takesNewRequests, drainTimeout: drainTimeout, on: eventLoop)
            slots.append(slot)
        }
        old.finish(passing: drainOld)
        return slots
    }

    /// Closes pooled connections idle for longer than their pool's idle timeout.
    func sweepIdleConnections() {
        let now = NIODeadline.now()
        for balancer in balancers.values {
            let maxIdle = TimeAmount.milliseconds(Int64(balancer.pool.spec.timeouts.idleMs))
            for slot in balancer.slots { slot.closeIdle(olderThan: maxIdle, now: now) }
        }
    }
}

/// What every worker shares: the snapshot box, health, metrics and limits.
struct ProxyShared: Sendable {
    let box: RuntimeConfigBox
    let health: HealthRegistry
    let metrics: ProxyMetrics
    let limits: HTTPLimits
    let logger: Logger
    let rateLimiters = RateLimiterRegistry()
}
