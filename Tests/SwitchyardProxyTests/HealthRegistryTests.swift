import Foundation
import Logging
import Testing

@testable import SwitchyardCore
@testable import SwitchyardProxy

@Suite("Health registry following snapshots")
struct HealthRegistryTests {
    static let now = Date(timeIntervalSince1970: 1_795_000_000)

    static func document() -> ConfigDocument {
        ConfigDocument(pools: [
            "web": PoolEntry(
                spec: .defaults,
                backends: ["a": BackendSpec(address: "10.0.0.1", port: 80), "b": BackendSpec(address: "10.0.0.2", port: 80)]),
            "api": PoolEntry(spec: .defaults, backends: ["c": BackendSpec(address: "10.0.1.1", port: 80)]),
        ])
    }

    /// Applies `change` to `document` and reconciles `registry` with the snapshot built from the last one.
    static func step(
        _ registry: HealthRegistry, _ previous: inout RuntimeConfig, _ document: inout ConfigDocument, changing pools: Set<String>,
        _ change: (inout ConfigDocument) -> Void
    ) throws {
        change(&document)
        let next = try RuntimeConfig(document: document, generation: previous.generation + 1, reusing: previous, changedPools: pools)
        registry.reconcile(PoolChange.between(previous.pools, next.pools), now: now)
        previous = next
    }

    /// A registry that follows the snapshot of `document()`.
    static func started() throws -> (HealthRegistry, ConfigDocument, RuntimeConfig) {
        let registry = HealthRegistry(logger: .init(label: "test"))
        let config = try RuntimeConfig(document: document(), generation: 1)
        registry.reconcile(PoolChange.between([:], config.pools), now: now)
        return (registry, document(), config)
    }

    @Test("only changed pools are followed: an unchanged pool keeps its health, removed backends leave no trace")
    func followsChangedPools() throws {
        var (registry, document, config) = try Self.started()
        for _ in 0..<PoolSpec.defaults.healthCheck.fall { registry.probeFailed("web/a", reason: "refused", now: Self.now) }
        #expect(registry.report(for: "web/a")?.status == .unhealthy)
        #expect(!registry.view.isAvailable("web/a", at: Self.now))
        #expect(registry.transitionCounts()["web/a"] == [.unhealthy: 1])
        #expect(
            registry.metrics(now: Self.now).first { $0.pool == "web" && $0.name == "a" }
                == DataPlaneMetrics.BackendHealth(pool: "web", name: "a", up: false, transitions: [.unhealthy: 1]))

        // Another pool changes: web is taken over as it was.
        try Self.step(registry, &config, &document, changing: ["api"]) {
            $0.pools["api"]!.backends["d"] = BackendSpec(address: "10.0.1.2", port: 80)
        }
        #expect(registry.report(for: "web/a")?.status == .unhealthy)
        #expect(!registry.view.isAvailable("web/a", at: Self.now))
        #expect(registry.report(for: "api/d")?.status == .unknown)

        // A backend beside it moves: only that one starts over.
        for _ in 0..<PoolSpec.defaults.healthCheck.rise { registry.probeSucceeded("web/b", now: Self.now) }
        #expect(registry.report(for: "web/b")?.status == .healthy)
        try Self.step(registry, &config, &document, changing: ["web"]) {
            $0.pools["web"]!.backends["b"]!.address = "10.0.0.3"
        }
        #expect(registry.report(for: "web/b")?.status == .unknown)
        #expect(registry.report(for: "web/a")?.status == .unhealthy)

        // Removed: no report, no transitions, not blocked; back at the same name it starts as new.
        try Self.step(registry, &config, &document, changing: ["web"]) { $0.pools["web"]!.backends["a"] = nil }
        #expect(registry.report(for: "web/a") == nil)
        #expect(registry.transitionCounts()["web/a"] == nil)
        #expect(!registry.metrics(now: Self.now).contains { $0.pool == "web" && $0.name == "a" })
        #expect(registry.view.isAvailable("web/a", at: Self.now))
        try Self.step(registry, &config, &document, changing: ["web"]) {
            $0.pools["web"]!.backends["a"] = BackendSpec(address: "10.0.0.1", port: 80)
        }
        #expect(registry.report(for: "web/a")?.status == .unknown)
        #expect(registry.view.isAvailable("web/a", at: Self.now))

        // A whole pool removed takes its backends along.
        try Self.step(registry, &config, &document, changing: ["api"]) { $0.pools["api"] = nil }
        #expect(Set(registry.reports(now: Self.now).keys) == ["web/a", "web/b"])
    }

    @Test("passive ejections of removed or reset backends stop counting")
    func troubledCount() throws {
        var (registry, document, config) = try Self.started()
        for _ in 0..<PoolSpec.defaults.passive.maxFailures { registry.requestFailed("web/a", reason: "502", now: Self.now) }
        #expect(registry.report(for: "web/a", now: Self.now)?.status == .unhealthy)
        #expect(registry.troubledCount == 1)
        try Self.step(registry, &config, &document, changing: ["web"]) { $0.pools["web"]!.backends["a"] = nil }
        #expect(registry.report(for: "web/a") == nil)
        #expect(registry.troubledCount == 0)
        try Self.step(registry, &config, &document, changing: ["web"]) {
            $0.pools["web"]!.backends["a"] = BackendSpec(address: "10.0.0.1", port: 80)
        }
        #expect(registry.report(for: "web/a", now: Self.now)?.status == .unknown)
        #expect(registry.view.isAvailable("web/a", at: Self.now))
        #expect(registry.troubledCount == 0)
        // An ejected backend whose address changes starts over, and stops counting as troubled.
        for _ in 0..<PoolSpec.defaults.passive.maxFailures { registry.requestFailed("web/b", reason: "502", now: Self.now) }
        #expect(registry.troubledCount == 1)
        try Self.step(registry, &config, &document, changing: ["web"]) { $0.pools["web"]!.backends["b"]!.port = 81 }
        #expect(registry.troubledCount == 0)
        #expect(registry.view.isAvailable("web/b", at: Self.now))
    }
}
