import Testing

@testable import SwitchyardCore

@Suite("Runtime snapshot")
struct RuntimeConfigTests {
    static func document() -> ConfigDocument {
        let backend = BackendSpec(address: "10.0.0.1", port: 80)
        var tcp = PoolSpec.defaults
        tcp.protocol = .tcp
        return ConfigDocument(
            pools: [
                "web": PoolEntry(spec: .defaults, backends: ["b": backend, "a": backend]),
                "api": PoolEntry(spec: .defaults),
                "db": PoolEntry(spec: tcp),
            ],
            listeners: [
                "public": ListenerSpec(
                    port: 80, defaultPool: "web",
                    routes: [
                        RouteSpec(host: "api.example.com", pool: "api"),
                        RouteSpec(host: "*.example.com", pathPrefix: "/v2", pool: "api"),
                        RouteSpec(pathPrefix: "/static", pool: "web"),
                    ],
                    allow: ["10.0.0.0/8", "2001:db8::/32"], deny: ["10.6.0.0/16"]),
                "pg": ListenerSpec(port: 5432, protocol: .tcp, defaultPool: "db"),
            ])
    }

    @Test("builds indexed pools and listeners")
    func builds() throws {
        let config = try RuntimeConfig(document: Self.document(), generation: 7)
        #expect(config.generation == 7)
        #expect(config.pools["web"]?.backends.map(\.name) == ["a", "b"])
        #expect(config.pools["web"]?.backends.first?.key == "web/a")
        #expect(config.listeners.keys.sorted() == ["pg", "public"])
    }

    @Test("routes: first match by host (exact or wildcard) and path prefix, else the default pool")
    func routing() throws {
        let listener = try #require(try RuntimeConfig(document: Self.document(), generation: 1).listeners["public"])
        #expect(listener.pool(host: "API.example.com:8080", path: "/") == "api")
        #expect(listener.pool(host: "www.example.com", path: "/v2/items") == "api")
        #expect(listener.pool(host: "www.example.com", path: "/v1/items") == "web")
        #expect(listener.pool(host: "example.com", path: "/v2") == "web")
        #expect(listener.pool(host: nil, path: "/static/app.js") == "web")
        #expect(listener.pool(host: "api.example.com.", path: "/") == "api")
    }

    @Test("firewall: deny wins, a non-empty allow list admits only its networks")
    func admission() throws {
        let listener = try #require(try RuntimeConfig(document: Self.document(), generation: 1).listeners["public"])
        #expect(listener.admits(IPAddress("10.1.2.3")!))
        #expect(!listener.admits(IPAddress("10.6.1.1")!))
        #expect(!listener.admits(IPAddress("192.0.2.1")!))
        #expect(listener.admits(IPAddress("2001:db8::5")!))
        let open = try #require(try RuntimeConfig(document: Self.document(), generation: 1).listeners["pg"])
        #expect(open.admits(IPAddress("192.0.2.1")!))
    }

    @Test("an inconsistent document is refused")
    func refusesBadDocuments() {
        var document = Self.document()
        document.listeners["broken"] = ListenerSpec(port: 81, defaultPool: "missing")
        #expect(throws: ValidationFailure.self) { try RuntimeConfig(document: document, generation: 1) }
    }

    @Test("a listener needs its socket rebound only when the socket or its protocol changes")
    func rebinds() throws {
        let old = try #require(RuntimeListener(name: "l", spec: ListenerSpec(port: 80, defaultPool: "web")))
        let sameSocket = try #require(RuntimeListener(name: "l", spec: ListenerSpec(port: 80, defaultPool: "api", deny: ["10.0.0.0/8"])))
        let moved = try #require(RuntimeListener(name: "l", spec: ListenerSpec(port: 81, defaultPool: "web")))
        #expect(!sameSocket.needsRebind(from: old))
        #expect(moved.needsRebind(from: old))
    }

    /// Where a pool's backends are stored: equal addresses mean the snapshot took the pool over.
    static func storage(_ pool: RuntimePool?) -> UnsafeRawPointer? {
        pool?.backends.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) }
    }

    @Test("a snapshot built from the previous one and the changed pools equals one built whole, and shares the rest")
    func reusesUnchangedPools() throws {
        let first = Self.document()
        let previous = try RuntimeConfig(document: first, generation: 1)
        let steps: [(String, (inout ConfigDocument) -> Void, Set<String>)] = [
            ("backend added", { $0.pools["web"]!.backends["c"] = BackendSpec(address: "10.0.0.3", port: 81) }, ["web"]),
            ("backend removed", { $0.pools["web"]!.backends["a"] = nil }, ["web"]),
            ("pool settings", { $0.pools["api"]!.spec.algorithm = .leastConnections }, ["api"]),
            ("pool added", { $0.pools["new"] = PoolEntry(spec: .defaults) }, ["new"]),
            (
                "pool removed",
                {
                    $0.listeners["pg"] = nil
                    $0.pools["db"] = nil
                }, ["db"]
            ),
            ("listener only", { $0.listeners["pg"]!.port = 5433 }, []),
        ]
        for (step, change, changedPools) in steps {
            var document = first
            change(&document)
            let reused = try RuntimeConfig(document: document, generation: 2, reusing: previous, changedPools: changedPools)
            let whole = try RuntimeConfig(document: document, generation: 2)
            #expect(reused.pools == whole.pools, "\(step)")
            #expect(reused.listeners == whole.listeners, "\(step)")
            for name in reused.pools.keys where !changedPools.contains(name) {
                #expect(Self.storage(reused.pools[name]) == Self.storage(previous.pools[name]), "\(step): \(name) taken over")
            }
            let changes = PoolChange.between(previous.pools, reused.pools)
            #expect(Set(changes.map(\.name)) == changedPools, "\(step)")
        }
    }

    @Test("a changed pool is checked again; listeners are checked against the pools taken over")
    func reuseStillChecks() throws {
        let previous = try RuntimeConfig(document: Self.document(), generation: 1)
        var document = Self.document()
        document.pools["web"]!.backends["a"]!.port = 0
        #expect(throws: ValidationFailure.self) {
            try RuntimeConfig(document: document, generation: 2, reusing: previous, changedPools: ["web"])
        }
        document = Self.document()
        document.listeners["pg"]!.defaultPool = "web"  // an http pool behind a tcp listener
        #expect(throws: ValidationFailure.self) {
            try RuntimeConfig(document: document, generation: 2, reusing: previous, changedPools: [])
        }
    }

    @Test("pool changes name the backends that arrived or changed, and those that left")
    func removedBackends() throws {
        let previous = try RuntimeConfig(document: Self.document(), generation: 1)
        var document = Self.document()
        document.pools["web"]!.backends["b"] = nil
        document.pools["web"]!.backends["z"] = BackendSpec(address: "10.0.0.9", port: 80)
        document.listeners["pg"] = nil
        document.pools["db"] = nil
        let next = try RuntimeConfig(document: document, generation: 2)
        let changes = Dictionary(uniqueKeysWithValues: PoolChange.between(previous.pools, next.pools).map { ($0.name, $0) })
        #expect(changes.keys.sorted() == ["db", "web"])
        #expect(changes["web"]?.backendDelta.removedKeys == ["web/b"])
        #expect(changes["db"]?.new == nil)
        #expect(changes["web"]?.backendDelta.changed.map(\.name) == ["z"])
        #expect(changes["db"]?.backendDelta.removedKeys.isEmpty == true)
        #expect(PoolChange.between(next.pools, next.pools).isEmpty)

        // Interleaved arrivals and departures, in an order where text and number order differ.
        func pool(_ names: [String]) -> ConfigDocument {
            let backends = Dictionary(uniqueKeysWithValues: names.map { ($0, BackendSpec(address: "127.0.0.1", port: 80)) })
            return ConfigDocument(pools: ["p": PoolEntry(spec: .defaults, backends: backends)])
        }
        let before = try RuntimeConfig(document: pool(["a", "b10", "b9", "c", "é", "z"]), generation: 1)
        let after = try RuntimeConfig(document: pool(["b1", "b9", "d", "é", "zz"]), generation: 2)
        let delta = try #require(PoolChange.between(before.pools, after.pools).first?.backendDelta)
        #expect(delta.removedKeys == ["p/a", "p/b10", "p/c", "p/z"])
        #expect(delta.changed.map(\.name) == ["b1", "d", "zz"])
    }
}
