import Foundation
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import SwitchyardCore
import SwitchyardIO
import Synchronization

/// The data plane as one `Service`: event loops with a `ProxyWorker` each, the listeners, the health
/// checker and the counters. It serves whatever snapshot the `RuntimeConfigBox` holds; `apply` is called
/// after each swap so that sockets, probes and drains follow at once.
public final class ProxyService: Service, DataPlane {
    public struct Configuration: Sendable {
        /// Event loops (threads) that proxy; each client connection stays on one.
        public var eventLoops: Int
        public var limits: HTTPLimits
        /// How often failed listeners are retried and idle backend connections swept.
        public var maintenanceInterval: Duration
        /// Client connections at most, over every listener (each may hold a backend connection too).
        public var maxConnections: Int

        public init(
            eventLoops: Int = System.coreCount, limits: HTTPLimits = HTTPLimits(), maintenanceInterval: Duration = .seconds(1),
            maxConnections: Int = OpenFileLimit.defaultMaxConnections()
        ) {
            self.eventLoops = eventLoops
            self.limits = limits
            self.maintenanceInterval = maintenanceInterval
            self.maxConnections = maxConnections
        }
    }

    /// The traffic counters of every listener, pool and backend.
    public let traffic = ProxyMetrics()
    public let health: HealthRegistry
    private let box: RuntimeConfigBox
    /// The data plane's event loops (client and backend sockets), one `ProxyWorker` each.
    private let loops: [EpollEventLoop]
    /// Health probes run on a NIO event loop of their own: they are few, and off the request path.
    private let probeGroup: MultiThreadedEventLoopGroup
    private let workers: [ProxyWorker]
    private let listeners: ListenerManager
    private let gate = ShutdownGate()
    private let checker: HealthChecker
    /// The pools of the last snapshot applied: each apply follows only the pools that changed.
    private let appliedPools = Mutex<[String: RuntimePool]>([:])
    private let configuration: Configuration
    private let logger: Logger

    /// Throws when an event loop cannot be made (epoll or eventfd refused, as when the process is out
    /// of descriptors): the caller reports it, instead of the process dying mid-start.
    public init(configuration: Configuration = .init(), box: RuntimeConfigBox, logger: Logger) throws {
        self.configuration = configuration
        self.box = box
        self.logger = logger
        health = HealthRegistry(logger: logger)
        var loops: [EpollEventLoop] = []
        do {
            for index in 0..<max(1, configuration.eventLoops) {
                loops.append(try EpollEventLoop(name: "switchyard-proxy-\(index)"))
            }
        } catch {
            for loop in loops { loop.shutdownGracefully(queue: .global()) { _ in } }
            throw error
        }
        self.loops = loops
        probeGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let shared = ProxyShared(box: box, health: health, metrics: traffic, limits: configuration.limits, logger: logger)
        let workers = loops.map { ProxyWorker(eventLoop: $0, shared: shared) }
        self.workers = workers
        listeners = ListenerManager(workers: workers, maxConnections: configuration.maxConnections, logger: logger)
        checker = HealthChecker(group: probeGroup, registry: health)
    }

    /// Follows a newly swapped snapshot: health trackers and probes, drains, then sockets. Does nothing
    /// once the service is stopping.
    public func apply(_ config: RuntimeConfig) async {
        guard gate.enter() else { return }
        defer { gate.leave() }
        // The pools that changed are found once, and followed under the lock, so that two applies
        // never hand their changes over in the wrong order.
        appliedPools.withLock { applied in
            let changes = PoolChange.between(applied, config.pools)
            applied = config.pools
            health.reconcile(changes)
            checker.reconcile(changes)
            traffic.retain(
                listeners: Set(config.listeners.keys), pools: Set(config.pools.keys),
                removingBackends: changes.flatMap(\.backendDelta.removedKeys))
        }
        for worker in workers { worker.eventLoop.execute { worker.refresh() } }
        await listeners.reconcile(config)
    }

    public func run() async throws {
        await apply(box.config)
        var sweptGeneration = box.config.generation
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? await Task.sleep(for: configuration.maintenanceInterval)
            // A worker still on the previous snapshot can create counters for a backend that `apply` has
            // just removed: sweep them once the configuration has moved (a walk over every backend, so
            // at most once an interval, not once a write).
            let config = box.config
            if config.generation != sweptGeneration {
                sweptGeneration = config.generation
                let backends = Set(config.pools.values.flatMap { $0.backends.map(\.key) })
                traffic.retain(listeners: Set(config.listeners.keys), pools: Set(config.pools.keys), backends: backends)
            }
            if listeners.currentStates().values.contains(where: { !$0.bound }) { await listeners.reconcile(box.config) }
            for worker in workers { worker.eventLoop.execute { worker.sweepIdleConnections() } }
        }
        await gate.close()
        checker.stopAll()
        await listeners.closeAll()
        for loop in loops { try await loop.shutdownGracefully() }
        try await probeGroup.shutdownGracefully()
    }

    // MARK: DataPlane status

    public func backendHealth() -> [String: BackendHealthReport] { health.reports() }

    public func backendHealth(backend key: String) -> BackendHealthReport? { health.report(for: key) }

    public func activeConnections(backend key: String) -> Int { traffic.activeConnections(backend: key) }

    public func activeConnections() -> [String: Int] { traffic.activeConnections() }

    public func listenerStates() -> [String: ListenerBindState] { listeners.currentStates() }

    public func metrics() -> DataPlaneMetrics {
        let counters = traffic.counts()
        return DataPlaneMetrics(
            listeners: counters.listeners, pools: counters.pools, backends: counters.backends,
            listenerSockets: listenerStates().sorted { $0.key < $1.key }.map { .init(name: $0.key, bound: $0.value.bound) },
            backendHealth: health.metrics(),
            certificates: box.config.certificates.values.sorted { $0.name < $1.name }.map {
                .init(name: $0.name, notAfter: $0.spec.details.notAfter)
            })
    }
}
