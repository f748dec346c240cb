import Testing

@testable import SwitchyardCore

@Suite("Config diff, revert, document building, guardrail")
struct ConfigTests {
    static let backend = BackendSpec(address: "10.0.0.1", port: 80)

    static func document() -> ConfigDocument {
        ConfigDocument(
            pools: ["web": PoolEntry(spec: .defaults, backends: ["a": backend, "b": backend])],
            listeners: ["public": ListenerSpec(port: 80, defaultPool: "web")])
    }

    @Test func noChangesBetweenEqualDocuments() {
        #expect(ConfigDiff.changes(from: Self.document(), to: Self.document()).isEmpty)
    }

    @Test func ordersCreatesBeforeUsersAndDeletesAfter() {
        var target = ConfigDocument()
        target.pools["api"] = PoolEntry(spec: .defaults, backends: ["x": Self.backend])
        target.listeners["edge"] = ListenerSpec(port: 81, defaultPool: "api")
        let changes = ConfigDiff.changes(from: Self.document(), to: target)
        #expect(
            changes.map { "\($0.action.rawValue) \($0.resource.kind.rawValue) \($0.resource)" } == [
                "create pool api", "create backend api/x", "create listener edge", "delete listener public", "delete backend web/a",
                "delete backend web/b", "delete pool web",
            ])
    }

    @Test func updatesCarryBeforeAndAfter() throws {
        var target = Self.document()
        target.pools["web"]!.spec.retries = 5
        target.pools["web"]!.backends["a"]!.adminState = .draining
        let changes = ConfigDiff.changes(from: Self.document(), to: target)
        #expect(changes.count == 2)
        #expect(changes.allSatisfy { $0.action == .update })
        let pool = try #require(changes.first)
        guard case .pool(let before)? = pool.before, case .pool(let after)? = pool.after else {
            Issue.record("expected pool states")
            return
        }
        #expect(before.retries == 2 && after.retries == 5)
    }

    @Test func applyingThenRevertingReturnsTheStart() {
        var target = ConfigDocument()
        target.pools["api"] = PoolEntry(spec: .defaults, backends: ["x": Self.backend])
        let start = Self.document()
        let changes = ConfigDiff.changes(from: start, to: target)
        let applied = start.applying(changes)
        #expect(applied == target)
        #expect(applied.reverting(changes.reversed()) == start)
    }

    @Test func builderReportsPlacesOfErrors() {
        let builder = ConfigDocumentBuilder()
        #expect(throws: ValidationFailure.self) {
            try builder.build(
                pools: [
                    .init(name: "web", draft: PoolDraft(retries: 50), backends: [.init(name: "a", draft: BackendDraft(address: "x y", port: 1))]),
                    .init(name: "web", draft: PoolDraft(), backends: []),
                ],
                listeners: [(name: "l", spec: ListenerSpec(port: 80, defaultPool: "nope"))])
        }
        do {
            _ = try builder.build(
                pools: [
                    .init(name: "web", draft: PoolDraft(retries: 50), backends: [.init(name: "a", draft: BackendDraft(address: "x y", port: 1))]),
                    .init(name: "web", draft: PoolDraft(), backends: []),
                ],
                listeners: [(name: "l", spec: ListenerSpec(port: 80, defaultPool: "nope"))])
        } catch {
            #expect(
                Set(error.errors.map(\.field)) == [
                    "pools[0].retries", "pools[0].backends[0].address", "pools[1].name", "listeners[0].default_pool",
                ])
        }
        let built = try? builder.build(
            pools: [.init(name: "web", draft: PoolDraft(), backends: [.init(name: "a", draft: BackendDraft(address: "10.0.0.1", port: 80))])],
            listeners: [(name: "l", spec: ListenerSpec(port: 80, defaultPool: "web"))])
        #expect(built?.pools["web"]?.backends["a"]?.port == 80)
    }

    @Test func guardrail() {
        let enabled = BackendSpec(address: "a", port: 1)
        var drained = enabled
        drained.adminState = .draining
        // 3 → 2 of 3 at 60 %: fine. 2 → 1 of 3: below.
        #expect(HealthyGuardrail.violation(minHealthyPercent: 60, before: [enabled, enabled, enabled], after: [drained, enabled, enabled]) == nil)
        #expect(HealthyGuardrail.violation(minHealthyPercent: 60, before: [drained, enabled, enabled], after: [drained, drained, enabled]) != nil)
        // Removing a backend that was not serving is never refused.
        #expect(HealthyGuardrail.violation(minHealthyPercent: 100, before: [drained, enabled], after: [enabled]) == nil)
        // Off at 0.
        #expect(HealthyGuardrail.violation(minHealthyPercent: 0, before: [enabled], after: []) == nil)
        // Known-down backends do not count as healthy.
        #expect(HealthyGuardrail.violation(minHealthyPercent: 50, before: [enabled, enabled], after: [enabled], isDown: { $0.port == 1 }) == nil)
    }

    @Test func scopes() {
        #expect([Scope.admin].grants(.write))
        #expect([Scope.write].grants(.read))
        #expect(![Scope.read].grants(.write))
        #expect(![Scope.write].grants(.admin))
    }
}
