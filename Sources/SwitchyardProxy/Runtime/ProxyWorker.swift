import Foundation
import Logging
import NIOCore
import SwitchyardCore

/// Everything one event loop needs to proxy without locks on the request path: a cached snapshot
/// (refreshed when the box's generation moves), a `PoolBalancer` per pool and a `BackendSlot` per
/// backend with its pooled connections. Confined to `eventLoop`; `@unchecked Sendable` only so that
/// channel initializers on that loop can reach it.
final class ProxyWorker: @unchecked Sendable {
    let eventLoop: any EventLoop
    let shared: ProxyShared
    private var config = RuntimeConfig.empty
    private var balancers: [String: PoolBalancer] = [:]
    /// By pool name, then "pool/backend@host:port".
    private var slots: [String: [String: BackendSlot]] = [:]

    init(eventLoop: any EventLoop, shared: ProxyShared) {
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
    /// pool must not cost a rebuild of a 10,000-backend pool beside it.
    func refresh() {
        eventLoop.preconditionInEventLoop()
        let config = shared.box.config
        guard config.generation != self.config.generation else { return }
        var slots: [String: [String: BackendSlot]] = [:]
        var balancers: [String: PoolBalancer] = [:]
        /// Pools carried over as they were: none of their slots drains.
        var carried = Set<String>()
        for pool in config.pools.values {
            let previousSlots = self.slots[pool.name] ?? [:]
            if let balancer = self.balancers[pool.name], self.config.pools[pool.name] == pool {
                balancers[pool.name] = balancer
                slots[pool.name] = previousSlots
                carried.insert(pool.name)
                continue
            }
            var poolSlots: [BackendSlot] = []
            var slotsByIdentity: [String: BackendSlot] = [:]
            slotsByIdentity.reserveCapacity(pool.backends.count)
            for backend in pool.backends {
                let identity = "\(backend.key)@\(backend.spec.address):\(backend.spec.port)"
                let slot =
                    previousSlots[identity]
                    ?? BackendSlot(
                        key: backend.key, host: backend.spec.address, port: backend.spec.port, counters: shared.metrics.backend(backend.key))
                slot.setAccepting(
                    backend.spec.takesNewRequests, drainTimeout: .milliseconds(Int64(pool.spec.drainTimeoutMs)), on: eventLoop)
                slotsByIdentity[identity] = slot
                poolSlots.append(slot)
            }
            slots[pool.name] = slotsByIdentity
            balancers[pool.name] = PoolBalancer(pool: pool, slots: poolSlots, counters: shared.metrics.pool(pool.name))
        }
        // Backends that left the snapshot (or moved address) drain with their old pool's timeout.
        for (poolName, previousSlots) in self.slots where !carried.contains(poolName) {
            let current = slots[poolName] ?? [:]
            let drainTimeout = TimeAmount.milliseconds(Int64(self.config.pools[poolName]?.spec.drainTimeoutMs ?? 0))
            for (identity, slot) in previousSlots where current[identity] == nil {
                slot.setAccepting(false, drainTimeout: drainTimeout, on: eventLoop)
            }
        }
        self.config = config
        self.slots = slots
        self.balancers = balancers
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
}
