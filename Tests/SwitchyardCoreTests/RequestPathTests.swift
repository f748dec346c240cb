import Testing

@testable import SwitchyardCore

@Suite struct RequestPathTests {
    @Test(
        "paths are normalised before routing",
        arguments: [
            ("/a/b", "/a/b"), ("/", "/"), ("/pub/../admin", "/admin"), ("/pub/./x", "/pub/x"), ("/a/b/..", "/a/"),
            ("/a/b/.", "/a/b/"), ("/../../etc", "/etc"), ("/%61dmin", "/admin"), ("/%2e%2E/admin", "/admin"),
            ("/pub/%2e%2e/admin", "/admin"), ("/a%2fb", "/a%2Fb"), ("/caf%c3%a9", "/caf%C3%A9"), ("/a/.hidden", "/a/.hidden"),
            ("/a/..b", "/a/..b"), ("//a", "//a"), ("/a/", "/a/"), ("/%", "/%"), ("/%zz", "/%zz"), ("*", "*"),
        ])
    func normalized(path: String, expected: String) {
        #expect(RequestPath.normalized(path) == expected)
    }

    @Test func prefixesMatchAtSegmentBoundaries() {
        #expect(RequestPath.hasPrefix("/api", segmentsOf: "/api"))
        #expect(RequestPath.hasPrefix("/api/x", segmentsOf: "/api"))
        #expect(!RequestPath.hasPrefix("/apix", segmentsOf: "/api"))
        #expect(RequestPath.hasPrefix("/api/x", segmentsOf: "/api/"))
        #expect(!RequestPath.hasPrefix("/api", segmentsOf: "/api/"))
        #expect(RequestPath.hasPrefix("/anything", segmentsOf: "/"))
        #expect(!RequestPath.hasPrefix("/ap", segmentsOf: "/api"))
    }

    @Test("a listener routes the normalised path at segment boundaries")
    func listenerRouting() throws {
        let spec = ListenerSpec(
            bind: "127.0.0.1", port: 8080, defaultPool: "web",
            routes: [RouteSpec(pathPrefix: "/api", pool: "api"), RouteSpec(pathPrefix: "/pub", pool: "pub"), RouteSpec(pathPrefix: "/%7Eu", pool: "home")])
        let listener = try #require(RuntimeListener(name: "l", spec: spec))
        #expect(listener.pool(host: "a", path: "/api/v1") == "api")
        #expect(listener.pool(host: "a", path: "/apix") == "web")
        #expect(listener.pool(host: "a", path: "/pub/../admin") == "web")
        #expect(listener.pool(host: "a", path: "/pub/x/../y") == "pub")
        #expect(listener.pool(host: "a", path: "/x/../api") == "api")
        #expect(listener.pool(host: "a", path: "/~u/docs") == "home")
        #expect(listener.pool(host: "a", path: "/%61pi") == "api")
    }

    @Test func trustedProxies() throws {
        let spec = ListenerSpec(bind: "127.0.0.1", port: 8080, defaultPool: "web", trustedProxies: ["10.0.0.0/8", "2001:db8::/32"])
        let listener = try #require(RuntimeListener(name: "l", spec: spec))
        #expect(listener.trusts(try #require(IPAddress("10.1.2.3"))))
        #expect(listener.trusts(try #require(IPAddress("2001:db8::1"))))
        #expect(!listener.trusts(try #require(IPAddress("192.0.2.1"))))
        let plain = try #require(RuntimeListener(name: "l", spec: ListenerSpec(bind: "127.0.0.1", port: 8080, defaultPool: "web")))
        #expect(!plain.trusts(try #require(IPAddress("10.1.2.3"))))
    }
}
