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
}
