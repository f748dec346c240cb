import Foundation
import Logging
import ServiceLifecycle
import SwitchyardCore
import SwitchyardStore

/// Registers this process in `instances`, heartbeats every `interval` with the generation of the snapshot
/// it serves, and marks it stopped on shutdown. Store outages are logged and waited out (fail static).
public struct InstanceHeartbeat: Service {
    public let id: UUID
    let store: Store
    let name: String
    let metrics: APIMetrics
    let snapshot: RuntimeConfigBox
    let observed: ObservedState
    let interval: Duration
    let logger: Logger

    public static let version = "0.1.0"

    public init(
        id: UUID, store: Store, name: String, metrics: APIMetrics, snapshot: RuntimeConfigBox, observed: ObservedState,
        interval: Duration = .seconds(5), logger: Logger
    ) {
        self.observed = observed
        self.id = id
        self.snapshot = snapshot
        self.store = store
        self.name = name
        self.metrics = metrics
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        let host = ProcessInfo.processInfo.hostName
        var registered = false
        var beats = 0
        // What the last heartbeat stored; unchanged health is not sent again.
        var storedHealth: [String: BackendHealthReport]?
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                if !registered {
                    try await store.registerInstance(id: id, name: name, host: host, version: Self.version)
                    registered = true
                }
                metrics.setGeneration(try await store.currentGeneration())
                let health = observed.dataPlane?.backendHealth() ?? [:]
                try await store.heartbeat(
                    instance: id, appliedGeneration: snapshot.generation, listeners: observed.dataPlane?.listenerStates() ?? [:],
                    backendHealth: health == storedHealth ? nil : health)
                storedHealth = health
                observed.update(instances: try await store.instances())
                // Idempotency keys live a day; sweep about every ten minutes.
                if beats % 120 == 0 { try await store.purgeIdempotencyKeys() }
                beats += 1
            } catch {
                logger.warning("heartbeat failed; serving on", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: interval)
        }
        if registered { try? await store.markStopped(instance: id) }
    }
}
